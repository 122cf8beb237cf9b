"""Notifications: the outbox (`outbox.py`), its tables (`tables.py`), the channels (`channels.py`) and the sender
(`sender.py`)."""

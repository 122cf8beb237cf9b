"""Thin adapters between Dash/Flask and the domain and data layers; each module has `register(app)`."""

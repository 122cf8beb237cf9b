"""How far a load of history stands (the demo's first start), in `meta`: the fraction the wall's banner reads, and
the minute the history ends at, kept until the load is complete so that a start after a kill resumes it."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data_access.store.models import Meta

KEY = "history_load"
END_KEY = "history_load_end"


def set_history_load(session: Session, fraction: float | None) -> None:
    """Say how far the load stands (0 to 1); None: no load under way."""
    if fraction is None:
        session.execute(delete(Meta).where(Meta.key == KEY))
    else:
        session.merge(Meta(key=KEY, value=f"{min(max(fraction, 0.0), 1.0):.4f}"))


def history_load(session: Session) -> float | None:
    """The fraction of a load under way; None when none is."""
    value = session.scalar(select(Meta.value).where(Meta.key == KEY))
    return None if value is None else float(value)


def set_history_end(session: Session, end: int | None) -> None:
    """Record the end (epoch seconds) of a history to load, before its load starts; None once it is all in."""
    if end is None:
        session.execute(delete(Meta).where(Meta.key == END_KEY))
    else:
        session.merge(Meta(key=END_KEY, value=str(int(end))))


def history_end(session: Session) -> int | None:
    """The end of a history whose load has not completed (started, then stopped or killed); None if none."""
    value = session.scalar(select(Meta.value).where(Meta.key == END_KEY))
    return None if value is None else int(value)

"""How far a load of history stands (the demo's first start): a fraction in `meta`, read by the wall's banner."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data_access.store.models import Meta

KEY = "history_load"


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

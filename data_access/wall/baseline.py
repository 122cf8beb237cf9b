"""The count model's history of communities (dashboard/count_model.py) from the per-day community counts kept
until events change their day (day_cache.py): shared by the wall's hotspots and the space-time scan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from dashboard.count_model import CountModel, History, history_days, weekday_factors
from data_access.store.models import Appeal
from data_access.wall import history as hist
from data_access.wall.day_cache import count_days, local_day
from data_access.wall.day_store import BY_NAME

if TYPE_CHECKING:
    from data_access.wall.snapshot import WallContext


def model_of(ctx: WallContext) -> CountModel:
    """The count model of the settings."""
    return CountModel(ctx.settings.hotspot_baseline_days, ctx.settings.hotspot_min_history)


def community_days(session: Session, days: tuple[date, ...], ctx: WallContext) -> dict[date, dict[str, int]]:
    """Appeals created per community on each whole local day (kept per day until events change it; the days not
    kept are read together)."""
    s = ctx.settings
    stamp = ctx.days.sync(session, s.zone)
    return ctx.days.get_days(
        "communities",
        days,
        None,
        stamp,
        s.history_cache_s,
        lambda d: _community_days(session, d, s.zone),
        (session, BY_NAME),
    )


def _community_days(session: Session, days: list[date], zone: tzinfo) -> dict[date, dict[str, int]]:
    """Appeals created per community on each of some whole local days (one statement per run of days)."""
    comm = func.coalesce(Appeal.community, "")

    def query(extra: Sequence[Any]) -> Select[Any]:
        return select(*extra, comm, func.count()).group_by(*extra, comm)

    per = count_days(session, days, zone, query, Appeal.created_at)
    return {d: {k[0]: n for k, n in counts.items() if k[0]} for d, counts in per.items()}


def community_history(
    session: Session, now: datetime, ctx: WallContext, before: date
) -> tuple[History, dict[str, int], dict[date, dict[str, int]]]:
    """The history of the whole days before `before` (at most `hotspot_baseline_days`, from the first appeal on):
    the model's History (city total under ""), each community's total, and the days' counts."""
    s = ctx.settings
    first = ctx.cache.get(("first_created",), s.slow_panel_s, lambda: hist.first_created(session))
    days = history_days(None if first is None else local_day(first, s.zone), before, model_of(ctx))
    per_day = community_days(session, days, ctx)
    own: dict[str, int] = {}
    for counts in per_day.values():
        for c, n in counts.items():
            own[c] = own.get(c, 0) + n
    factors = weekday_factors({d: sum(c.values()) for d, c in per_day.items()})
    return History(days, factors, {"": sum(own.values())}, len(ctx.refs.community_street)), own, per_day

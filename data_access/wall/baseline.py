"""The count model's history of communities (dashboard/count_model.py) from the per-day community counts kept
until events change their day (day_cache.py): shared by the wall's hotspots and the space-time scan."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from dashboard.count_model import CountModel, History, history_days, weekday_factors
from data_access.wall import history as hist
from data_access.wall.day_cache import Period, day_start, local_day

if TYPE_CHECKING:
    from data_access.wall.snapshot import WallContext


def model_of(ctx: WallContext) -> CountModel:
    """The count model of the settings."""
    return CountModel(ctx.settings.hotspot_baseline_days, ctx.settings.hotspot_min_history)


def community_days(session: Session, days: tuple[date, ...], ctx: WallContext) -> dict[date, dict[str, int]]:
    """Appeals created per community on each whole local day (kept per day until events change it)."""
    s = ctx.settings
    stamp = ctx.days.sync(session, s.zone)
    edge = lambda d: day_start(d, s.zone)  # noqa: E731
    spans: dict[Period, hist.Span] = {(d, None): (edge(d), edge(d + timedelta(days=1))) for d in days}
    got = ctx.days.get_many(
        "communities",
        list(spans),
        None,
        stamp,
        s.history_cache_s,
        lambda ps: hist.community_counts_by(session, [spans[p] for p in ps]),
    )
    return dict(zip(days, got, strict=True))


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

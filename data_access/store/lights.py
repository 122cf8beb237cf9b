"""The traffic light in SQL: dashboard/appeal.py's rule as conditions over an appeal's stored thresholds.

The store keeps each appeal's thresholds (`yellow_from`, `red_from`, from dashboard/appeal.light_times), so
an open appeal's light at `now` is a comparison: red from `red_from`, yellow from `yellow_from`, green
before (light_from_times). Every query takes its light conditions from here. Each compares a bare column
with `now`, so it is a range of the indexes (is_open, red_from) and (is_open, yellow_from, red_from, community);
light_times never puts `yellow_from` after `red_from`, so "yellow or red" is the one range yellow_from <= now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, true

from data_access.store.models import Appeal

#: The lights of an open appeal in order of urgency (the wall's map styles communities by the worst).
LIGHT_RANK = {"green": 0, "yellow": 1, "red": 2}


def is_open() -> ColumnElement[bool]:
    """Still being handled: the only appeals that have a green, yellow or red light."""
    return Appeal.is_open == true()


def is_red(now: datetime) -> ColumnElement[bool]:
    """Open and red at `now`."""
    return and_(is_open(), Appeal.red_from <= now)


def is_yellow(now: datetime) -> ColumnElement[bool]:
    """Open and yellow at `now`."""
    return and_(is_open(), Appeal.yellow_from <= now, Appeal.red_from > now)


def is_green(now: datetime) -> ColumnElement[bool]:
    """Open and green at `now`."""
    return and_(is_open(), Appeal.yellow_from > now)


def is_yellow_or_red(now: datetime) -> ColumnElement[bool]:
    """Open and past its yellow threshold at `now`: yellow or red."""
    return and_(is_open(), Appeal.yellow_from <= now)


def turning_red(now: datetime, within: timedelta) -> ColumnElement[bool]:
    """Open, not red at `now`, red by `now + within`."""
    return and_(is_open(), Appeal.red_from > now, Appeal.red_from <= now + within)


IS_LIGHT: dict[str, Callable[[datetime], ColumnElement[bool]]] = {"green": is_green, "yellow": is_yellow, "red": is_red}


def light_rank(now: datetime) -> ColumnElement[int]:
    """An open appeal's light at `now` as its LIGHT_RANK (NULL once resolved or closed)."""
    return case(
        (is_red(now), LIGHT_RANK["red"]),
        (is_yellow(now), LIGHT_RANK["yellow"]),
        (is_green(now), LIGHT_RANK["green"]),
        else_=None,
    )

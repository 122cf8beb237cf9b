"""High-frequency problems (高频问题) and the candidates for 每月一题, from counts the store aggregates.

* **Windows** (city time, ending now): the day (today so far), the week (the last 7 days with today), the
  month (the last 30 days with today) and the month before it (the 30 days before).
* **A problem** is a category of one level (cat1, cat2 or cat3) in one area (district, street or community).
  Its expected week is the count model's (dashboard/count_model.py) over the 28 days before the week: own
  history with the day-of-week effect, or the city-wide rate of the category scaled to the area. It is
  **high-frequency** when its week volume is at least `min_count` and at least `min_ratio` × expected; they
  are listed by the scan's score (dashboard/scan.py `llr`) of the week against its expectation, highest first.
* **Candidates for 每月一题** are third-level categories city-wide over the month: spread over at least
  `min_streets` streets or handled by at least `min_units` units, with a resolution or satisfaction rate (the
  ranking module's `rates`, from the call-backs made over the month, as the rankings count them) below the
  city's. They are listed by their
  unsatisfied volume, volume × (1 − satisfaction), highest first, each with its evidence: volume, streets,
  units, the three rates, the trend (month against the month before) and its week ratio to expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dashboard.count_model import CountModel, History, expected, share
from dashboard.rankings import Tally, rates
from dashboard.scan import llr

CAT_LEVELS = ("cat1", "cat2", "cat3")
AREA_LEVELS = ("district", "street", "community")
WINDOWS = ("day", "week", "month", "prev_month")


@dataclass(frozen=True)
class ProblemRule:
    """Thresholds of high-frequency problems and candidates."""

    min_count: int = 5
    min_ratio: float = 1.5
    min_streets: int = 10
    min_units: int = 3


#: (category, area) -> count, per window name, and over the baseline ("base").
Counts = Mapping[str, Mapping[tuple[str, str], int]]


def problems(
    counts: Counts,
    area_totals: Mapping[str, int],
    area_communities: Mapping[str, int],
    week: Sequence[date],
    hist: History,
    model: CountModel,
    rule: ProblemRule,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """High-frequency problems of one category level and one area level, highest score first.

    `counts` holds per window ("day", "week", "month", "base") the count of each (category, area);
    `area_totals` the base count of all categories per area; `area_communities` the communities per area;
    `hist.city` the base count per category ("" all)."""
    out: list[dict[str, Any]] = []
    for key, n in counts["week"].items():
        if n < rule.min_count:
            continue
        cat, area = key
        own = counts["base"].get(key, 0)
        sh = share(area_totals.get(area, 0), area_communities.get(area, 1), hist, model)
        e = expected(own, cat, sh, week, hist, model)
        if e is None or e.value <= 0 or n < rule.min_ratio * e.value:
            continue
        out.append(
            {
                "category": cat,
                "area": area,
                "day": counts["day"].get(key, 0),
                "week": n,
                "month": counts["month"].get(key, 0),
                "expected_week": round(e.value, 2),
                "baseline": e.source,
                "ratio": round(n / e.value, 2),
                "score": round(llr(n, e.value), 2),
            }
        )
    out.sort(key=lambda r: (-float(r["score"]), str(r["category"]), str(r["area"])))
    return out[:limit]


@dataclass(frozen=True)
class CategoryMonth:
    """One third-level category's month, city-wide: volume, the month before, streets, units, call-backs."""

    category: str
    volume: int
    previous: int
    streets: int
    units: int
    tally: Tally
    week_ratio: float | None = None


def candidates(
    months: Sequence[CategoryMonth], city: Tally, rule: ProblemRule, limit: int = 15
) -> list[dict[str, Any]]:
    """Candidates for 每月一题 with their evidence (module docstring)."""
    _, city_res, city_sat = rates(city)
    out: list[dict[str, Any]] = []
    for m in months:
        if m.streets < rule.min_streets and m.units < rule.min_units:
            continue
        resp, res, sat = rates(m.tally)
        low_res = res is not None and city_res is not None and res < city_res
        low_sat = sat is not None and city_sat is not None and sat < city_sat
        if not (low_res or low_sat):
            continue
        out.append(
            {
                "category": m.category,
                "volume": m.volume,
                "streets": m.streets,
                "units": m.units,
                "reviewed": m.tally.reviewed,
                "response": None if resp is None else round(resp, 3),
                "resolution": None if res is None else round(res, 3),
                "satisfaction": None if sat is None else round(sat, 3),
                "trend": None if m.previous == 0 else round(m.volume / m.previous - 1, 3),
                "week_ratio": m.week_ratio,
                "unsatisfied": round(m.volume * (1 - (sat or 0.0)), 1),
                "why": [w for w, on in (("resolution", low_res), ("satisfaction", low_sat)) if on],
            }
        )
    out.sort(key=lambda r: (-float(r["unsatisfied"]), -int(r["volume"]), str(r["category"])))
    return out[:limit]

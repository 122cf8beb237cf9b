"""The expected count of appeals of a category in an area over some days: the baseline every "above normal"
figure is judged against (the wall's hotspots, the space-time scan, high-frequency problems).

The model, per (category, area):

* **History** is the whole local days observed before the day judged, at most `baseline_days` of them and
  none before the store's first appeal (a city with two days of history has two days, not 28 empty ones).
* **Day of week.** Each weekday w has a factor f_w = (mean city-wide count on weekdays w) / (mean count over
  all history days), from the city's totals of all categories; a weekday not yet seen has factor 1. A day's
  weight is its factor, so Monday's usual load is judged against Mondays.
* **Own rate and the city's.** An area's own history total n over the history days, per unit of weight, is
  n / W with W = Σ f(history days). The **city-wide rate of its category scaled to the area** is
  p = (N_cat + ½) × share(area) / W, with N_cat the city's total of the category over the same days (the half:
  a category the city has never seen is expected rarely, not never), and share(area) the area's share of the
  city's appeals of all categories when the area has at least `min_count` of them, else its share of the
  city's communities (a community 1/7000 of Beijing, a street its communities' part).
* **Minimum count.** The rate used is (n + m) / (W + m / p) with m = `min_count`: the city's rate counts as m
  appeals of evidence. An area with little history (n well below m: a new city, a quiet community, a rare
  category) is judged against the city's rate scaled to it; one with much history (n well above m) against
  its own; in between, in proportion to the evidence. There is no flat floor: an area is never judged against
  a constant that ignores what the city shows. `source` says which dominates ("own" when n ≥ m, else "city").
* The expected count over the judged days is that rate × Σ f(judged days).
* Without any history day there is no expectation (None): screens say "no history yet" instead of a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

#: Half an appeal added to a category's city-wide history total (see the module docstring).
PRIOR = 0.5


@dataclass(frozen=True)
class CountModel:
    """Thresholds of the count model."""

    baseline_days: int = 28
    min_count: int = 20


@dataclass(frozen=True)
class Expectation:
    """An expected count and where it comes from: the area's own history ("own") or the city's ("city")."""

    value: float
    source: str


def weekday_factors(daily_totals: Mapping[date, int]) -> tuple[float, ...]:
    """f_w for Monday..Sunday from the city's total per history day (1.0 for a weekday not seen)."""
    if not daily_totals:
        return (1.0,) * 7
    mean = sum(daily_totals.values()) / len(daily_totals)
    by: dict[int, list[int]] = {}
    for d, n in daily_totals.items():
        by.setdefault(d.weekday(), []).append(n)
    if mean <= 0:
        return (1.0,) * 7
    return tuple((sum(by[w]) / len(by[w]) / mean) if w in by and sum(by[w]) > 0 else 1.0 for w in range(7))


def weight(days: Iterable[date], factors: Sequence[float]) -> float:
    """Σ f over days."""
    return sum(factors[d.weekday()] for d in days)


@dataclass(frozen=True)
class History:
    """What the model needs of the city's history: its days, the weekday factors, the city's totals per category
    (key "" for all categories) and the number of communities."""

    days: tuple[date, ...]
    factors: tuple[float, ...]
    city: Mapping[str, float]
    communities: int

    @cached_property
    def weight(self) -> float:
        """Σ f over the history days."""
        return weight(self.days, self.factors)


def share(area_total: int, area_communities: int, hist: History, model: CountModel) -> float:
    """The area's share of the city (module docstring): of its appeals, or of its communities."""
    total = hist.city.get("", 0)
    if area_total >= model.min_count and total > 0:
        return area_total / total
    return area_communities / max(hist.communities, 1)


def expected(
    own: int,
    category: str,
    area_share: float,
    judged: Sequence[date],
    hist: History,
    model: CountModel,
    fraction: float = 1.0,
) -> Expectation | None:
    """The expected count over the judged days (times `fraction`, e.g. 0.5 of a day) for an area with `own`
    appeals of `category` ("" all) in history and the given share of the city; None without history."""
    r = rate(own, category, area_share, hist, model)
    if r is None:
        return None
    return Expectation(r.value * weight(judged, hist.factors) * fraction, r.source)


def rate(own: int, category: str, area_share: float, hist: History, model: CountModel) -> Expectation | None:
    """The expected count per unit of day weight (a day's expectation is this times its weekday factor)."""
    w = hist.weight
    if not hist.days or w <= 0:
        return None
    prior = (hist.city.get(category, 0) + PRIOR) * area_share / w
    m = model.min_count
    value = (own + m) / (w + m / prior) if prior > 0 else own / w
    return Expectation(value, "own" if own >= m else "city")


def history_days(first: date | None, today: date, model: CountModel) -> tuple[date, ...]:
    """The whole days before `today` the baseline covers: at most `baseline_days`, none before `first`."""
    from datetime import timedelta

    if first is None:
        return ()
    start = max(first, today - timedelta(days=model.baseline_days))
    return tuple(start + timedelta(days=k) for k in range((today - start).days))

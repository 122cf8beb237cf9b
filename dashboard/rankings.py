"""Monthly rankings of handling units: the three rates, the composite score, classes, volume top ten.

Everything a ranking means is defined here, in one place (`RankingConfig`, `DEFAULT`):

* Period: a calendar month in the city's time zone.
* Per unit (a street/township, a district = its streets together, a department or company):
  - **volume**: appeals created in the month whose current handling unit is the unit;
  - **reviewed**: call-backs (回访) made in the month on appeals the unit handled;
  - **response rate** (响应率) = call-backs where the citizen says they were contacted / reviewed;
  - **resolution rate** (解决率) = call-backs where the citizen says it was solved / reviewed;
  - **satisfaction rate** (满意率) = sum of the credit of each answer / reviewed, credit per
    answer in `satisfaction_credit` (satisfied 1, basically satisfied 1, dissatisfied 0 by default).
* **Composite** = 100 × (w_response·response + w_resolution·resolution + w_satisfaction·satisfaction),
  weights summing to 1; resolution and satisfaction weigh more, as the city's assessment does.
* **Small sample**: a unit with fewer than `min_reviewed` call-backs shows its rates, marked,
  but gets no rank and no class: its rates are not certain enough to rank.
* **Rank**: ranked units by composite, highest first (ties: more call-backs first, then code).
  **Change** = last month's rank − this month's rank (positive: moved up), for units ranked both months.
* **Classes** (each ranked unit at most one, first that applies):
  1. governance-priority (治理类): volume among the top `governance_volume_share` of ranked units
     and composite among the bottom `governance_score_share`;
  2. rectification (整改类): among the bottom `rectification_bottom` by rank (at most
     `rectification_max_share` of ranked units);
  3. advanced (先进类): among the top `advanced_share` by rank;
  4. improving (进步类): moved up at least `improving_min_rise` places since last month.
* **Volume top ten**: the `volume_top` units by volume (any sample size); one that is not
  governance-priority carries an early warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

LEVELS = ("street", "district", "department")
CLASSES = ("advanced", "improving", "rectification", "governance")


@dataclass(frozen=True)
class RankingConfig:
    """The ranking rules' weights and thresholds; see the module docstring for their meaning."""

    w_response: float = 0.2
    w_resolution: float = 0.4
    w_satisfaction: float = 0.4
    satisfaction_credit: Mapping[str, float] = field(
        default_factory=lambda: {"satisfied": 1.0, "basically_satisfied": 1.0, "dissatisfied": 0.0}
    )
    min_reviewed: int = 20
    advanced_share: float = 0.1
    rectification_bottom: int = 10
    rectification_max_share: float = 0.25
    governance_volume_share: float = 0.1
    governance_score_share: float = 0.3
    improving_min_rise: int = 10
    volume_top: int = 10

    def __post_init__(self) -> None:
        total = self.w_response + self.w_resolution + self.w_satisfaction
        if not math.isclose(total, 1.0, abs_tol=1e-9) or min(self.w_response, self.w_resolution, self.w_satisfaction) < 0:
            raise ValueError(f"ranking weights must be non-negative and sum to 1 (got {total})")


DEFAULT = RankingConfig()


@dataclass(frozen=True)
class Tally:
    """One unit's counts for one month (what the store aggregates)."""

    code: str
    name: str
    volume: int = 0
    reviewed: int = 0
    responded: int = 0
    resolved: int = 0
    satisfied: float = 0.0  # credit-weighted, see RankingConfig.satisfaction_credit

    def __add__(self, other: "Tally") -> "Tally":
        return replace(
            self, volume=self.volume + other.volume, reviewed=self.reviewed + other.reviewed,
            responded=self.responded + other.responded, resolved=self.resolved + other.resolved,
            satisfied=self.satisfied + other.satisfied,
        )


@dataclass(frozen=True)
class RankRow:
    """One unit in a month's ranking."""

    code: str
    name: str
    volume: int
    reviewed: int
    response: float | None
    resolution: float | None
    satisfaction: float | None
    composite: float | None
    small_sample: bool
    rank: int | None
    prev_rank: int | None
    change: int | None
    cls: str | None
    volume_rank: int | None
    early_warning: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, rates rounded to 4 places and the composite to 2."""
        r4 = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {
            "code": self.code, "name": self.name, "volume": self.volume, "reviewed": self.reviewed,
            "response": r4(self.response), "resolution": r4(self.resolution), "satisfaction": r4(self.satisfaction),
            "composite": None if self.composite is None else round(self.composite, 2),
            "small_sample": self.small_sample, "rank": self.rank, "prev_rank": self.prev_rank,
            "change": self.change, "class": self.cls, "volume_rank": self.volume_rank,
            "early_warning": self.early_warning,
        }


def credit(satisfaction: str | None, cfg: RankingConfig = DEFAULT) -> float:
    """The satisfaction credit of one call-back answer (unknown or missing: 0)."""
    return float(cfg.satisfaction_credit.get(satisfaction or "", 0.0))


def tally(code: str, name: str, volume: int, reviewed: int, responded: int, resolved: int,
          answers: Mapping[str, int], cfg: RankingConfig = DEFAULT) -> Tally:
    """A Tally from raw counts; `answers` counts the call-backs by satisfaction answer (credited per `cfg`)."""
    satisfied = sum(credit(a, cfg) * n for a, n in answers.items())
    return Tally(code, name, volume, reviewed, responded, resolved, satisfied)


def small_sample(t: Tally, cfg: RankingConfig = DEFAULT) -> bool:
    """Too few call-backs to rank: the rates are shown, marked, with no rank and no class."""
    return t.reviewed < cfg.min_reviewed


def rates(t: Tally) -> tuple[float | None, float | None, float | None]:
    """(response, resolution, satisfaction) rates; None without call-backs."""
    if t.reviewed <= 0:
        return None, None, None
    return t.responded / t.reviewed, t.resolved / t.reviewed, t.satisfied / t.reviewed


def composite(t: Tally, cfg: RankingConfig = DEFAULT) -> float | None:
    """The composite score 0–100; None without call-backs."""
    resp, res, sat = rates(t)
    if resp is None or res is None or sat is None:
        return None
    return 100.0 * (cfg.w_response * resp + cfg.w_resolution * res + cfg.w_satisfaction * sat)


def _ranks(tallies: Iterable[Tally], cfg: RankingConfig) -> dict[str, int]:
    ranked = [t for t in tallies if not small_sample(t, cfg)]
    ranked.sort(key=lambda t: (-(composite(t, cfg) or 0.0), -t.reviewed, t.code))
    return {t.code: i + 1 for i, t in enumerate(ranked)}


def _share(n: int, share: float) -> int:
    """How many of n units a share names: at least one when there are any."""
    return 0 if n == 0 else max(1, int(math.floor(n * share + 0.5)))


def classify(rank: int, n: int, volume_rank: int, change: int | None, cfg: RankingConfig = DEFAULT) -> str | None:
    """The class of a ranked unit: rank of n ranked units, its volume rank among them, its rank change."""
    if volume_rank <= _share(n, cfg.governance_volume_share) and rank > n - _share(n, cfg.governance_score_share):
        return "governance"
    bottom = min(cfg.rectification_bottom, int(n * cfg.rectification_max_share))
    if rank > n - bottom:
        return "rectification"
    if rank <= _share(n, cfg.advanced_share):
        return "advanced"
    if change is not None and change >= cfg.improving_min_rise:
        return "improving"
    return None


def rank_month(current: Iterable[Tally], previous: Iterable[Tally] = (), cfg: RankingConfig = DEFAULT) -> list[RankRow]:
    """The month's ranking: ranked units by rank, then small-sample units by call-backs."""
    cur = list(current)
    prev_rank = _ranks(previous, cfg)
    rank = _ranks(cur, cfg)
    n = len(rank)
    ranked = sorted((t for t in cur if t.code in rank), key=lambda t: (-t.volume, t.code))
    vol_rank_ranked = {t.code: i + 1 for i, t in enumerate(ranked)}
    by_volume = sorted(cur, key=lambda t: (-t.volume, t.code))
    vol_rank = {t.code: i + 1 for i, t in enumerate(by_volume) if t.volume > 0}
    rows = []
    for t in cur:
        resp, res, sat = rates(t)
        r = rank.get(t.code)
        pr = prev_rank.get(t.code)
        change = pr - r if (r is not None and pr is not None) else None
        cls = classify(r, n, vol_rank_ranked[t.code], change, cfg) if r is not None else None
        vr = vol_rank.get(t.code)
        rows.append(RankRow(
            code=t.code, name=t.name, volume=t.volume, reviewed=t.reviewed, response=resp, resolution=res,
            satisfaction=sat, composite=composite(t, cfg), small_sample=r is None, rank=r, prev_rank=pr,
            change=change, cls=cls, volume_rank=vr,
            early_warning=vr is not None and vr <= cfg.volume_top and cls != "governance",
        ))
    rows.sort(key=lambda x: (x.rank is None, x.rank or 0, -x.reviewed, x.code))
    return rows


_Row = TypeVar("_Row")


def volume_top(rows: Iterable[_Row], volume_rank: Callable[[_Row], int | None],
               cfg: RankingConfig = DEFAULT) -> list[_Row]:
    """The top units by volume (the city's 'top ten by volume'), in volume order; `volume_rank` reads a row's."""
    top = [(v, r) for r in rows if (v := volume_rank(r)) is not None and v <= cfg.volume_top]
    return [r for _, r in sorted(top, key=lambda vr: vr[0])]


def class_counts(classes: Iterable[str | None]) -> dict[str, int]:
    """How many units fall in each of the four classes, from each unit's class (None: no class)."""
    out = dict.fromkeys(CLASSES, 0)
    for c in classes:
        if c:
            out[c] += 1
    return out

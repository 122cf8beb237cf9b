"""Monthly rankings of handling units: the three rates, the composite score, classes, volume top ten.

Everything a ranking means is defined here, in one place (`RankingConfig`, `DEFAULT`):

* **Period**: a calendar month in the city's time zone. Its **cut-off** is midnight `close_days` days after
  the month ends. Until then the month's ranking is **provisional** (暂定) and says so on screen and in the
  API; from the cut-off on it is **final**: every figure is what the events dated before the cut-off say, so
  events dated later never change it. (Events dated before the cut-off that arrive late still count: the
  event log is the record, and replaying it must rebuild the same figures.)
* Per unit (a street/township, a district = its streets together, a department or company):
  - **volume**: appeals created in the month, each counted for the unit handling it: now while the month is
    provisional, at the cut-off once it is final. The handling unit is the unit of the appeal's latest
    (by time) `dispatched`, `accepted` or `resolved` event, so a re-dispatch moves the appeal, and its
    month's volume, to the new unit. An appeal returned (退单) and not dispatched again, or never
    dispatched, counts in no unit's volume: it is back with the hotline's dispatchers. (Counting it for the
    unit that returned it would hold a correct return against that unit; counting it for the street where
    it happened would charge a street with an appeal it may never handle.)
  - **reviewed**: every call-back (回访) made in the month counts once, in that month, for the unit handling
    the appeal when the call-back was made (the unit that reported it resolved). An appeal called back,
    reopened and called back again next month counts one call-back in each month; later events never move
    a call-back to another month or unit, so a month's call-backs are settled when the month ends;
  - **response rate** (响应率) = call-backs where the citizen says they were contacted / reviewed;
  - **resolution rate** (解决率) = call-backs where the citizen says it was solved / reviewed;
  - **satisfaction rate** (满意率) = sum of the credit of each answer / reviewed, credit per
    answer in `satisfaction_credit` (satisfied 1, basically satisfied 1, dissatisfied 0 by default).
* **Composite** = 100 × (w_response·response + w_resolution·resolution + w_satisfaction·satisfaction),
  weights summing to 1; resolution and satisfaction weigh more, as the city's assessment does. Scores are
  compared exactly (as fractions, weights and credits taken as the decimals written), so equal counts give
  equal scores whatever floating point would make of them.
* **Small sample**: a unit with fewer than `min_reviewed` call-backs shows its rates, marked,
  but gets no rank and no class: its rates are not certain enough to rank.
* **Rank**: ranked units by composite, highest first; exact ties: more call-backs first, then unit code.
  **Change** = last month's rank − this month's rank (positive: moved up), for units ranked both months.
* **Shares** of n ranked units (`advanced_share`, `governance_volume_share`, `governance_score_share`) name
  ⌊share × n⌋ units, computed exactly, and at least one when n > 0: a share never names more units than it
  says, except that a small field still has one (25 units, 10 %: 2; 16 units: 1; 5 units: 1).
* **Volume rank**: 1 + the number of units with a larger volume (equal volumes share a rank). The **volume
  top ten** are the units with volume rank ≤ `volume_top`: units tied at the cut are all in (the list may be
  longer than ten), listed by code within a volume; no unit escapes a warning by its code.
* **Classes** (each ranked unit at most one, first that applies):
  1. governance-priority (治理类): volume rank among ranked units within the top `governance_volume_share`
     and composite among the bottom `governance_score_share`;
  2. rectification (整改类): among the bottom `rectification_bottom` by rank (at most
     ⌊`rectification_max_share` × n⌋ of ranked units);
  3. advanced (先进类): among the top `advanced_share` by rank;
  4. improving (进步类): moved up at least `improving_min_rise` places since last month.
* **Volume top ten**: one that is not governance-priority carries an early warning (any sample size).

`month_share` states the counting rules over one appeal's events; the store's aggregates
(data_access/wall/history.py) count the same, and tests hold them to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dashboard.contract import Event

LEVELS = ("street", "district", "department")
CLASSES = ("advanced", "improving", "rectification", "governance")
#: Events that set (or, `returned`, clear) an appeal's handling unit.
UNIT_EVENTS = ("dispatched", "accepted", "resolved", "returned")


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
    close_days: int = 3

    def __post_init__(self) -> None:
        total = self.w_response + self.w_resolution + self.w_satisfaction
        if (
            not math.isclose(total, 1.0, abs_tol=1e-9)
            or min(self.w_response, self.w_resolution, self.w_satisfaction) < 0
        ):
            raise ValueError(f"ranking weights must be non-negative and sum to 1 (got {total})")
        if self.close_days < 0:
            raise ValueError("close_days must not be negative")


DEFAULT = RankingConfig()


def exact(x: float | Fraction) -> Fraction:
    """A configured number as the decimal written: 0.1 is 1/10, not the float nearest to it."""
    return x if isinstance(x, Fraction) else Fraction(str(x))


@dataclass(frozen=True)
class Tally:
    """One unit's counts for one month (what the store aggregates)."""

    code: str
    name: str
    volume: int = 0
    reviewed: int = 0
    responded: int = 0
    resolved: int = 0
    satisfied: Fraction = Fraction(0)  # credit-weighted, see RankingConfig.satisfaction_credit

    def __add__(self, other: Tally) -> Tally:
        return replace(
            self,
            volume=self.volume + other.volume,
            reviewed=self.reviewed + other.reviewed,
            responded=self.responded + other.responded,
            resolved=self.resolved + other.resolved,
            satisfied=Fraction(self.satisfied) + Fraction(other.satisfied),
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
            "code": self.code,
            "name": self.name,
            "volume": self.volume,
            "reviewed": self.reviewed,
            "response": r4(self.response),
            "resolution": r4(self.resolution),
            "satisfaction": r4(self.satisfaction),
            "composite": None if self.composite is None else round(self.composite, 2),
            "small_sample": self.small_sample,
            "rank": self.rank,
            "prev_rank": self.prev_rank,
            "change": self.change,
            "class": self.cls,
            "volume_rank": self.volume_rank,
            "early_warning": self.early_warning,
        }


def credit(satisfaction: str | None, cfg: RankingConfig = DEFAULT) -> float:
    """The satisfaction credit of one call-back answer (unknown or missing: 0)."""
    return float(cfg.satisfaction_credit.get(satisfaction or "", 0.0))


def exact_credit(satisfaction: str | None, cfg: RankingConfig = DEFAULT) -> Fraction:
    """`credit` as an exact fraction (what the ranking adds up)."""
    return exact(cfg.satisfaction_credit.get(satisfaction or "", 0))


def tally(
    code: str,
    name: str,
    volume: int,
    reviewed: int,
    responded: int,
    resolved: int,
    answers: Mapping[str, int],
    cfg: RankingConfig = DEFAULT,
) -> Tally:
    """A Tally from raw counts; `answers` counts the call-backs by satisfaction answer (credited per `cfg`)."""
    satisfied = sum((exact_credit(a, cfg) * n for a, n in answers.items()), Fraction(0))
    return Tally(code, name, volume, reviewed, responded, resolved, satisfied)


def small_sample(t: Tally, cfg: RankingConfig = DEFAULT) -> bool:
    """Too few call-backs to rank: the rates are shown, marked, with no rank and no class."""
    return t.reviewed < cfg.min_reviewed


def rates(t: Tally) -> tuple[float | None, float | None, float | None]:
    """(response, resolution, satisfaction) rates; None without call-backs."""
    if t.reviewed <= 0:
        return None, None, None
    return t.responded / t.reviewed, t.resolved / t.reviewed, float(Fraction(t.satisfied) / t.reviewed)


def score(t: Tally, cfg: RankingConfig = DEFAULT) -> Fraction | None:
    """The composite score 0–100 exactly, as ranks compare it; None without call-backs."""
    if t.reviewed <= 0:
        return None
    total = (
        exact(cfg.w_response) * t.responded
        + exact(cfg.w_resolution) * t.resolved
        + exact(cfg.w_satisfaction) * Fraction(t.satisfied)
    )
    return 100 * total / t.reviewed


def composite(t: Tally, cfg: RankingConfig = DEFAULT) -> float | None:
    """The composite score 0–100 as shown; None without call-backs."""
    s = score(t, cfg)
    return None if s is None else float(s)


def _ranks(tallies: Iterable[Tally], cfg: RankingConfig) -> dict[str, int]:
    ranked = [(score(t, cfg) or Fraction(0), t) for t in tallies if not small_sample(t, cfg)]
    ranked.sort(key=lambda st: (-st[0], -st[1].reviewed, st[1].code))
    return {t.code: i + 1 for i, (_, t) in enumerate(ranked)}


def share(n: int, part: float | Fraction) -> int:
    """How many of n units a share names: ⌊part × n⌋ exactly, at least one when there are any."""
    return 0 if n == 0 else max(1, math.floor(n * exact(part)))


def _competition(volumes: Mapping[str, int]) -> dict[str, int]:
    """Each code's 1 + the number of codes with a larger volume."""
    first: dict[int, int] = {}
    for i, v in enumerate(sorted(volumes.values(), reverse=True)):
        first.setdefault(v, i + 1)
    return {code: first[v] for code, v in volumes.items()}


def volume_ranks(tallies: Iterable[Tally]) -> dict[str, int]:
    """Each unit with a volume: 1 + the number of units with a larger one (equal volumes share a rank)."""
    return _competition({t.code: t.volume for t in tallies if t.volume > 0})


def classify(rank: int, n: int, volume_rank: int, change: int | None, cfg: RankingConfig = DEFAULT) -> str | None:
    """The class of a ranked unit: rank of n ranked units, its volume rank among them, its rank change."""
    if volume_rank <= share(n, cfg.governance_volume_share) and rank > n - share(n, cfg.governance_score_share):
        return "governance"
    bottom = min(cfg.rectification_bottom, math.floor(n * exact(cfg.rectification_max_share)))
    if rank > n - bottom:
        return "rectification"
    if rank <= share(n, cfg.advanced_share):
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
    vol_rank_ranked = _competition({t.code: t.volume for t in cur if t.code in rank})
    vol_rank = volume_ranks(cur)
    rows = []
    for t in cur:
        resp, res, sat = rates(t)
        r = rank.get(t.code)
        pr = prev_rank.get(t.code)
        change = pr - r if (r is not None and pr is not None) else None
        cls = classify(r, n, vol_rank_ranked[t.code], change, cfg) if r is not None else None
        vr = vol_rank.get(t.code)
        rows.append(
            RankRow(
                code=t.code,
                name=t.name,
                volume=t.volume,
                reviewed=t.reviewed,
                response=resp,
                resolution=res,
                satisfaction=sat,
                composite=composite(t, cfg),
                small_sample=r is None,
                rank=r,
                prev_rank=pr,
                change=change,
                cls=cls,
                volume_rank=vr,
                early_warning=vr is not None and vr <= cfg.volume_top and cls != "governance",
            )
        )
    rows.sort(key=lambda x: (x.rank is None, x.rank or 0, -x.reviewed, x.code))
    return rows


_Row = TypeVar("_Row")


def volume_top(
    rows: Iterable[_Row], volume_rank: Callable[[_Row], int | None], cfg: RankingConfig = DEFAULT
) -> list[_Row]:
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


# -- the counting rules over one appeal's events ----------------------------------------------------------
@dataclass(frozen=True)
class Callback:
    """One call-back as a month's ranking counts it: when, for which unit, the citizen's answers."""

    at: datetime
    unit: str | None
    responded: bool
    resolved: bool
    satisfaction: str | None


def _in_order(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.at, e.id))  # the fold's order (dashboard/appeal.py)


def handling_unit(events: Iterable[Event], before: datetime | None = None) -> str | None:
    """The unit handling an appeal as its events dated before `before` (all: None) leave it: the unit of the
    latest dispatched, accepted or resolved; None after a return, or before any dispatch."""
    unit = None
    for e in _in_order(events):
        if before is not None and e.at >= before:
            break
        if e.type in UNIT_EVENTS:
            unit = None if e.type == "returned" else e.data["unit"]
    return unit


def callbacks(events: Iterable[Event]) -> list[Callback]:
    """Every call-back of an appeal, each with the unit handling the appeal when it was made."""
    unit, out = None, []
    for e in _in_order(events):
        if e.type in UNIT_EVENTS:
            unit = None if e.type == "returned" else e.data["unit"]
        elif e.type == "reviewed":
            d = e.data
            out.append(Callback(e.at, unit, bool(d["responded"]), bool(d["resolved"]), d.get("satisfaction")))
    return out


def month_share(
    events: Iterable[Event], start: datetime, end: datetime, cutoff: datetime | None = None
) -> tuple[str | None, list[Callback]]:
    """What one appeal counts for in the month [start, end): the unit whose volume it is in (None: no unit's,
    or not created in the month) and its call-backs made in the month, each for its unit (those made while
    no unit handled it count for none). `cutoff`: the month's cut-off once final (volume at the cut-off);
    None while provisional (volume now)."""
    evs = list(events)
    born = min(((e.at, e.id) for e in evs if e.type == "created"), default=None)  # the earliest `created` holds
    unit = handling_unit(evs, cutoff) if born is not None and start <= born[0] < end else None
    return unit, [c for c in callbacks(evs) if start <= c.at < end and c.unit is not None]

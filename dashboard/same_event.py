"""Same-event groups: which appeals are about one event, and which events meet the "三天三单" rule.

Everything a group means is defined here, in one place (`GroupingRules`, `Grouper`, `burst_day`):

* **Category**: two appeals can be about one event only when their **category key** is the same: the deepest
  category they carry (the third level; the second or first when an appeal has no deeper one), or, when that
  category is in one of the configured **equivalence sets** (`equivalent`), the set's first name in sorted
  order (e.g. {路灯, 路灯不亮} are one key). Same place, other category: another event.
* **Place**: the appeal's point (its `location`; an appeal with only a community is placed at the community's
  point, so appeals of one community without a point may group with each other). Two appeals are near when
  their distance is at most `distance_m` (100 m by default; equirectangular distance, exact enough at
  this scale). An appeal with no point at all is a group of its own.
* **Time**: their creation times differ by at most `window_h` hours (72 h by default).
* **Wording**: when both carry a summary, the similarity of their summaries is at least `min_similarity`
  (0.2 by default). Similarity = rapidfuzz's Indel similarity (2·LCS / (len a + len b)) of the summaries
  with punctuation and spaces removed, character by character: in Chinese each character carries meaning, so
  characters are the n-grams that need no dictionary and no model (jieba's dictionary would be a second
  source of truth; scikit-learn's vectorisers need a fitted vocabulary). A missing summary never splits.
* **Assignment, greedy in arrival order**: appeals are taken in the order they were logged (the `seq` of their
  `created` event). A new appeal joins the group of the **best matching earlier member** (highest
  similarity, no summary counting as the threshold; then nearest; then earliest member), or starts a group of
  its own, named after it. Groups never merge and an appeal never moves: what a screen showed stays true, and
  a regrouping from scratch in the same order gives the same groups as the incremental pass (tests hold them
  to it). Because a member matches against every member, a group can grow beyond one window (a streetlight
  reported every day for a week is one group).
* **三天三单 (three appeals in three days)**: an event meets it when at least `burst_appeals` (3) distinct
  appeals of its group were created within `burst_days` (3) consecutive calendar days of the city's time
  zone: days D, D+1, D+2 for some D. Its **burst day** is the first day on which that became true (the day of
  the third appeal of the first such run).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from rapidfuzz.distance import Indel

from dashboard.settings import Settings

_M_PER_DEG = 111_320.0
#: Maps (the drill-down's and the wall's) show the groups with an appeal in this last stretch, one marker each.
MAP_WINDOW = timedelta(days=7)
#: Longest summary kept for comparison, in characters (long texts cost time and add no evidence).
WORDS_LEN = 120
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class GroupingRules:
    """The thresholds of same-event grouping and of 三天三单; see the module docstring for their meaning."""

    distance_m: float = 100.0
    window_h: float = 72.0
    min_similarity: float = 0.2
    equivalent: tuple[frozenset[str], ...] = field(default_factory=tuple)
    burst_appeals: int = 3
    burst_days: int = 3

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_h)

    @cached_property
    def cell_deg(self) -> float:
        """Height of a search cell in degrees of latitude: one `distance_m` (kept: asked for per appeal)."""
        return self.distance_m / _M_PER_DEG


@dataclass(frozen=True, slots=True)
class Arrival:
    """An appeal as grouping sees it: id, creation time (aware), category key, point, comparable words."""

    appeal: str
    at: datetime
    cat: str
    lon: float | None
    lat: float | None
    words: str | None


@dataclass(frozen=True, slots=True)
class Member:
    """An appeal already in a group."""

    appeal: str
    group: str
    at: datetime
    cat: str
    lon: float | None
    lat: float | None
    words: str | None


def category_key(cat1: str, cat2: str | None, cat3: str | None, rules: GroupingRules) -> str:
    """The deepest category given, or the name its equivalence set stands under."""
    deepest = cat3 or cat2 or cat1
    for same in rules.equivalent:
        if deepest in same:
            return min(same)
    return deepest


def words(summary: str | None) -> str | None:
    """A summary's comparable form: letters and digits only, lower case, at most WORDS_LEN; None when empty."""
    if not summary:
        return None
    text = _NOT_WORD.sub("", summary).lower()[:WORDS_LEN]
    return text or None


def similarity(a: str | None, b: str | None) -> float | None:
    """Similarity (0..1) of two comparable summaries; None when either is missing."""
    if a is None or b is None:
        return None
    return float(Indel.normalized_similarity(a, b))


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres (equirectangular: exact to well under a metre over a few hundred metres)."""
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * k, lat2 - lat1) * _M_PER_DEG


def cell(lon: float, lat: float, rules: GroupingRules) -> int:
    """The search cell of a point, as one integer: a row of `distance_m` height, columns `distance_m` wide."""
    deg = rules.cell_deg
    row = math.floor(lat / deg)
    return _cell_id(row, math.floor(lon * _shrink(row, deg) / deg))


def near_cells(lon: float, lat: float, rules: GroupingRules) -> list[int]:
    """The cells that can hold a point within `distance_m` of this one (3 × 3 around it)."""
    deg = rules.cell_deg
    row = math.floor(lat / deg)
    out: list[int] = []
    for r in (row - 1, row, row + 1):
        c = _cell_id(r, math.floor(lon * _shrink(r, deg) / deg))
        out += (c - 1, c, c + 1)  # _cell_id is linear in the column
    return out


@lru_cache(maxsize=65536)
def _shrink(row: int, cell_deg: float) -> float:
    """How much narrower a degree of longitude is than one of latitude in this row of cells."""
    return max(math.cos(math.radians((row + 0.5) * cell_deg)), 0.01)


def _cell_id(row: int, col: int) -> int:
    return (row + 500_000) * 10_000_000 + (col + 5_000_000)


class Grouper:
    """Greedy assignment of arrivals to groups over an index of members by (category key, cell)."""

    def __init__(self, rules: GroupingRules, members: Iterable[Member] = ()) -> None:
        self.rules = rules
        self._index: dict[tuple[str, int], list[Member]] = defaultdict(list)
        for m in members:
            self._add(m)

    def _add(self, m: Member) -> None:
        if m.lon is not None and m.lat is not None:
            self._index[(m.cat, cell(m.lon, m.lat, self.rules))].append(m)

    def best(self, a: Arrival) -> Member | None:
        """The earlier member `a` matches best, or None."""
        if a.lon is None or a.lat is None:
            return None
        r = self.rules
        best: tuple[float, float, datetime, str] | None = None
        found: Member | None = None
        for c in near_cells(a.lon, a.lat, r):
            for m in self._index.get((a.cat, c), ()):
                if abs(m.at - a.at) > r.window:
                    continue
                d = distance_m(a.lon, a.lat, m.lon, m.lat)  # type: ignore[arg-type]  # indexed members have points
                if d > r.distance_m:
                    continue
                sim = similarity(a.words, m.words)
                if sim is not None and sim < r.min_similarity:
                    continue
                key = (-(r.min_similarity if sim is None else sim), d, m.at, m.appeal)
                if best is None or key < best:
                    best, found = key, m
        return found

    def assign(self, a: Arrival) -> Member:
        """Put `a` in the group of its best match, or in a new group named after it; return it as a member."""
        match = self.best(a)
        m = Member(a.appeal, match.group if match else a.appeal, a.at, a.cat, a.lon, a.lat, a.words)
        self._add(m)
        return m


def burst_day(times: Sequence[datetime], zone: ZoneInfo, rules: GroupingRules) -> date | None:
    """The first local day on which `rules.burst_appeals` appeals fell within `rules.burst_days` consecutive
    days (三天三单), or None."""
    n = rules.burst_appeals
    days = sorted(t.astimezone(zone).date() for t in times)
    for i in range(n - 1, len(days)):
        if (days[i] - days[i - n + 1]).days < rules.burst_days:
            return days[i]
    return None


def rules_of(settings: Settings) -> GroupingRules:
    """The grouping rules the settings give."""
    sets = tuple(
        frozenset(n.strip() for n in part.split("|")) for part in settings.group_equivalent.split(";") if part.strip()
    )
    return GroupingRules(
        distance_m=settings.group_distance_m,
        window_h=settings.group_window_h,
        min_similarity=settings.group_min_similarity,
        equivalent=sets,
        burst_appeals=settings.burst_appeals,
        burst_days=settings.burst_days,
    )

"""Hotspots: communities whose recent appeal volume stands out against their own baseline.

Scoring, per community:

* x = appeals created in the recent window (`hotspot_window_h`, 24 h by default, ending now);
* λ = the expected count of the window from the count model (dashboard/count_model.py): the community's own
  history over the whole days before today (at most `hotspot_baseline_days`, none before the store's first
  appeal) with the day-of-week effect, or, with too little own history, the city-wide rate scaled to the
  community; never a flat floor. Without any history day there is no λ and no hotspot;
* score = (x − λ) / √λ: how many Poisson standard deviations the window lies above normal.

A community is a hotspot when all three hold: x ≥ `hotspot_min_count` (a few appeals are never a
hotspot), x ≥ `hotspot_min_ratio` × λ (a big community's ordinary noise is not one), and
score ≥ `hotspot_min_z`. Hotspots are listed by score, highest first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dashboard.settings import Settings


@dataclass(frozen=True)
class HotspotRule:
    """Thresholds of the hotspot test (built from settings)."""

    window_h: float = 24.0
    baseline_days: int = 28
    min_count: int = 5
    min_ratio: float = 2.0
    min_z: float = 3.0

    @classmethod
    def from_settings(cls, s: Settings) -> HotspotRule:
        """The rule the settings describe."""
        return cls(
            s.hotspot_window_h, s.hotspot_baseline_days, s.hotspot_min_count, s.hotspot_min_ratio, s.hotspot_min_z
        )


@dataclass(frozen=True)
class Hotspot:
    """One community's standing in the recent window."""

    code: str
    count: int
    expected: float
    score: float
    ratio: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "code": self.code,
            "count": self.count,
            "expected": round(self.expected, 3),
            "score": round(self.score, 2),
            "ratio": round(self.ratio, 2),
        }


def score(count: int, lam: float) -> Hotspot:
    """The window count's Poisson score against its expected count λ (> 0)."""
    return Hotspot("", count, lam, (count - lam) / math.sqrt(lam), count / lam)


def is_hotspot(h: Hotspot, rule: HotspotRule) -> bool:
    """All three tests of the module docstring."""
    return h.count >= rule.min_count and h.ratio >= rule.min_ratio and h.score >= rule.min_z


def hotspots(
    recent: Mapping[str, int], expected: Mapping[str, float], rule: HotspotRule, limit: int | None = None
) -> list[Hotspot]:
    """Hotspot communities, highest score first (ties: larger count, then code); a community with no expected
    count (no history yet) is not judged."""
    out = []
    for code, count in recent.items():
        lam = expected.get(code)
        if lam is None or lam <= 0:
            continue
        h = score(count, lam)
        if is_hotspot(h, rule):
            out.append(Hotspot(code, h.count, h.expected, h.score, h.ratio))
    out.sort(key=lambda h: (-h.score, -h.count, h.code))
    return out[:limit] if limit is not None else out


def merge_counts(*parts: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    """Sum (code, count) pairs from several queries."""
    out: dict[str, int] = {}
    for part in parts:
        for code, n in part:
            if code is not None:
                out[code] = out.get(code, 0) + int(n)
    return out

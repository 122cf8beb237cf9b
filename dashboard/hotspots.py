"""Hotspots: communities whose recent appeal volume stands out against their own baseline.

Scoring, per community:

* x = appeals created in the recent window (`hotspot_window_h`, 24 h by default, ending now);
* baseline = appeals created over the `hotspot_baseline_days` whole days before today (city time),
  so the expected count in a window is  λ = baseline / days × window_h / 24,  floored at
  `min_expected` (a community with no history is judged against a small, not a zero, mean);
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
    min_expected: float = 0.5

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
            "expected": round(self.expected, 2),
            "score": round(self.score, 2),
            "ratio": round(self.ratio, 2),
        }


def expected(baseline_total: int, rule: HotspotRule) -> float:
    """λ: the count a window would hold on a normal day, from the baseline total."""
    per_window = baseline_total / rule.baseline_days * rule.window_h / 24.0
    return max(per_window, rule.min_expected)


def score(count: int, baseline_total: int, rule: HotspotRule) -> Hotspot:
    """The window count's Poisson score against the community's own baseline."""
    lam = expected(baseline_total, rule)
    return Hotspot("", count, lam, (count - lam) / math.sqrt(lam), count / lam)


def is_hotspot(h: Hotspot, rule: HotspotRule) -> bool:
    """All three tests of the module docstring."""
    return h.count >= rule.min_count and h.ratio >= rule.min_ratio and h.score >= rule.min_z


def hotspots(
    recent: Mapping[str, int], baseline: Mapping[str, int], rule: HotspotRule, limit: int | None = None
) -> list[Hotspot]:
    """Hotspot communities, highest score first (ties: larger count, then code)."""
    out = []
    for code, count in recent.items():
        h = score(count, baseline.get(code, 0), rule)
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

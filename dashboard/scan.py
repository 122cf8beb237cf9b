"""Hotspots with evidence: an expectation-based Poisson space-time scan over communities and their neighbours.

The method, in one place:

* **Zones.** For each community c, the zones c, c + its nearest neighbour, …, c + its k nearest neighbours
  (`neighbours`, by distance between community points, at most `max_km` away): a cluster that spans
  neighbouring communities is one zone, not several weak ones.
* **Windows.** The last w whole or partial days ending now, w = 1 … `max_days` (1–7).
* **Counts.** C = appeals created in the zone over the window; B = their expected count from the count model
  (dashboard/count_model.py: own history with day-of-week effect, the city-wide rate scaled to the area where a
  community has too little history).
* **Score.** The expectation-based Poisson log-likelihood ratio (Neill et al., "Detection of emerging
  space-time clusters", KDD 2005): LLR = C·ln(C/B) − (C − B) when C > B, else 0. It grows with both the excess
  and the size of the evidence, so 3 appeals where 1 is usual scores lower than 30 where 10 are.
* **A hotspot** is a zone and window with C ≥ `min_count`, C ≥ `min_ratio` × B and LLR ≥ `min_llr`. Zones are
  taken best score first; a zone sharing a community with one already taken is left out, so each hotspot is
  reported once, with its largest-scoring extent and window.
* The wall's community hotspots are the zones of one community (k = 0) over the wall's window, scored the same.

Thresholds are settings (`scan_*`, `hotspot_min_count`, `hotspot_min_ratio`). On Poisson days over the demo
city's 7,380 communities, natural clusters reach an LLR of 12-15 a few times a month; the default `scan_min_llr`
of 15 reports none of them while a planted cluster of three neighbours (+5 appeals a day each for 3 days) is
found from its second day (benchmarks/problems.py, docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScanRule:
    """Thresholds of the scan."""

    max_days: int = 7
    neighbours: int = 6
    max_km: float = 3.0
    min_count: int = 5
    min_ratio: float = 2.0
    min_llr: float = 15.0


@dataclass(frozen=True)
class Cluster:
    """One hotspot: its communities (the centre first), window in days, count, expected count and score."""

    communities: tuple[str, ...]
    days: int
    count: int
    expected: float
    score: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "communities": list(self.communities),
            "days": self.days,
            "count": self.count,
            "expected": round(self.expected, 2),
            "score": round(self.score, 2),
            "ratio": round(self.count / self.expected, 2) if self.expected > 0 else None,
        }


def llr(count: float, expected: float) -> float:
    """The expectation-based Poisson log-likelihood ratio of a count against its expectation."""
    if count <= expected or expected <= 0:
        return 0.0
    return count * math.log(count / expected) - (count - expected)


def neighbours(points: Mapping[str, tuple[float, float]], k: int, max_km: float) -> dict[str, list[str]]:
    """Each community's k nearest others within max_km, nearest first (distance on a local flat projection;
    points are bucketed in cells of max_km, so each is compared with its own and the eight cells around)."""
    codes = sorted(points)
    if not codes:
        return {}
    xy = np.array([points[c] for c in codes], dtype=float)
    lat0 = math.radians(float(xy[:, 1].mean()))
    xy = np.column_stack([xy[:, 0] * 111.32 * math.cos(lat0), xy[:, 1] * 110.57])
    cell = np.floor(xy / max_km).astype(int)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, (cx, cy) in enumerate(cell.tolist()):
        buckets.setdefault((cx, cy), []).append(i)
    out: dict[str, list[str]] = {}
    for (cx, cy), members in buckets.items():
        near = np.array([j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in buckets.get((cx + dx, cy + dy), ())])
        d = np.hypot(xy[members, None, 0] - xy[None, near, 0], xy[members, None, 1] - xy[None, near, 1])
        d[near[None, :] == np.array(members)[:, None]] = np.inf  # not itself
        d[d > max_km] = np.inf
        order = np.argsort(d, axis=1, kind="stable")[:, :k]
        for row, me in enumerate(members):
            out[codes[me]] = [codes[int(near[j])] for j in order[row] if np.isfinite(d[row, j])]
    return out


def scan(
    counts: Mapping[str, Sequence[int]],
    expected: Mapping[str, Sequence[float]],
    near: Mapping[str, Sequence[str]],
    rule: ScanRule,
) -> list[Cluster]:
    """Hotspots, best first. `counts` and `expected` hold per community its last `max_days` days, today last."""
    codes = sorted(set(counts) | set(expected))
    if not codes:
        return []
    index = {c: i for i, c in enumerate(codes)}
    days = rule.max_days
    cnt = np.zeros((len(codes), days))
    exp = np.zeros((len(codes), days))
    for c, row in counts.items():
        cnt[index[c], days - len(row[-days:]) :] = row[-days:]
    for c, erow in expected.items():
        exp[index[c], days - len(erow[-days:]) :] = erow[-days:]
    # window sums: column w-1 holds the last w days
    cw = np.cumsum(cnt[:, ::-1], axis=1)
    ew = np.cumsum(exp[:, ::-1], axis=1)
    k = rule.neighbours
    nb = np.full((len(codes), k + 1), -1, dtype=int)
    nb[:, 0] = np.arange(len(codes))
    for c, i in index.items():
        for j, other in enumerate([o for o in near.get(c, ()) if o in index][:k]):
            nb[i, j + 1] = index[other]
    valid = nb >= 0
    safe = np.where(valid, nb, 0)
    zc = np.cumsum(np.where(valid[:, :, None], cw[safe], 0.0), axis=1)  # (community, extent, window)
    ze = np.cumsum(np.where(valid[:, :, None], ew[safe], 0.0), axis=1)
    # an extent past the last valid neighbour repeats the previous zone: mask it
    reach = np.cumprod(valid, axis=1).astype(bool)[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(zc, ze, out=np.ones_like(zc), where=ze > 0)
        score = np.where((zc > ze) & (ze > 0), zc * np.log(ratio) - (zc - ze), 0.0)
    ok = reach & (zc >= rule.min_count) & (zc >= rule.min_ratio * ze) & (score >= rule.min_llr) & (ze > 0)
    found = np.argwhere(ok)
    order = sorted(found.tolist(), key=lambda t: (-score[t[0], t[1], t[2]], t[0], t[1], t[2]))
    taken: set[int] = set()
    out = []
    for i, e, w in order:
        members = [int(m) for m in nb[i, : e + 1]]
        if taken.intersection(members):
            continue
        taken.update(members)
        out.append(
            Cluster(
                tuple(codes[m] for m in members),
                w + 1,
                int(zc[i, e, w] + 0.5),
                float(ze[i, e, w]),
                float(score[i, e, w]),
            )
        )
    return out

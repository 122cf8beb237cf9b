"""Seeded random draws of the demo feed: a cheaper random.Random and bucket picks by cumulative weight."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

_T = TypeVar("_T")


class Rng(random.Random):
    """random.Random with a cheaper randint and pick (the generator's hot path); seeded alike."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.random() * len(seq))]

    def share(self, a: float, b: float) -> float:
        """A Kumaraswamy(a, b) draw in (0, 1): beta-like, by inverse CDF (one uniform, no gammas)."""
        x: float = (1.0 - (1.0 - self.random()) ** (1.0 / b)) ** (1.0 / a)  # float ** float is typed Any
        return x


def cum(weights: npt.ArrayLike) -> list[float]:
    """Cumulative weights normalised to end at 1 (for bisect)."""
    acc = np.cumsum(np.asarray(weights, dtype=float))
    return list(acc / acc[-1])


def pick(cum: list[float], u: float) -> int:
    """Index of the bucket of u in [0, 1) under cumulative weights."""
    return min(bisect_right(cum, u), len(cum) - 1)

"""Partitions of the projection: which projector folds which appeal."""

from __future__ import annotations

import zlib


def fold_key(appeal: str) -> int:
    """The number an appeal's share follows from, the same in every process (unlike `hash`): logged with each
    event, so that a folder reads only its share's events."""
    return zlib.crc32(appeal.encode())


def part_of(appeal: str, parts: int) -> int:
    """The share of the fold an appeal belongs to: `fold_key` modulo the number of shares."""
    return fold_key(appeal) % parts if parts > 1 else 0

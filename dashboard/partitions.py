"""Partitions of the projection: which projector folds which appeal (pure: the same in every process)."""

from __future__ import annotations

import zlib


def partition_key(appeal: str) -> int:
    """The number an appeal's partition follows from, the same in every process (unlike `hash`): logged with each
    event, so that a projector reads only its partition's events."""
    return zlib.crc32(appeal.encode())


def partition_of(appeal: str, partitions: int) -> int:
    """The partition an appeal belongs to: its `partition_key` modulo the number of partitions."""
    return partition_key(appeal) % partitions if partitions > 1 else 0

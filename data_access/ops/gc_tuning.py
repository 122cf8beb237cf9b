"""Garbage collector settings: for the long-running loops (ingest worker, projectors) and the warm web app."""

from __future__ import annotations

import gc

#: The cyclic garbage collector's thresholds in a process that ingests or projects (Python's default: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 100)


def settle_gc() -> None:
    """Make the cyclic garbage collector cheap for a long-running loop that allocates a great deal.

    Everything alive at start-up (libraries, the city model, the web app) is left out of its scans, and it runs
    every 50,000 net allocations instead of every 700: each full collection walked every live object (the
    kept drafts, the web app), which cost the ingest worker and the projector a quarter of their time. Their own
    garbage is acyclic (rows, parsed events) and freed at once by reference counting."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_alive() -> None:
    """Move every object alive now out of the cyclic collector's sight (once the web app is up and warm), and
    collect as seldom as the long-running loops do (`settle_gc`).

    What is alive then (city model, reference lookups, layouts, aggregates) lives as long as the process; without
    this, every full collection walks all of it again: ~200 ms pauses inside ticks on a big city
    (benchmarks/tick.py). Frozen objects are still freed by reference counting when dropped; only reference
    cycles among them stay until exit. What a web worker keeps after its warm-up (caches of figures, built
    tables) still made Python's default thresholds run a full collection every second or two under 300 screens,
    100–280 ms each with the worker's every thread stopped, for almost nothing collected (benchmarks/load.py)."""
    gc.collect()  # garbage pending now would otherwise be frozen with the rest
    settle_gc()

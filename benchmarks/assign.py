"""Benchmark: assign random points over the demo city's bounds to grids; prints points per second.

    python benchmarks/assign.py [--points 500000] [--repeat 3] [--var-dir var] [--record]

--record rewrites the "## City model: point assignment" section of docs/benchmarks.md (other
sections are left as they are).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from geo.assign import Assigner  # noqa: E402
from geo.demo_city import load_demo_city  # noqa: E402

HEADING = "## City model: point assignment"


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def record(text: str, path: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Replace (or append) this benchmark's section in docs/benchmarks.md."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = f"{HEADING}\n\n{text.strip()}\n\n"
    new = pattern.sub(lambda _: section, old) if pattern.search(old) else old.rstrip() + "\n\n" + section
    path.write_text(new.rstrip() + "\n", encoding="utf-8")


def _runs(assigner: Assigner, lon: np.ndarray, lat: np.ndarray, repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` calls of assign()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        assigner.assign(lon, lat)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Run the benchmark and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=500_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=12345, help="seed of the demo city")
    p.add_argument("--var-dir", type=Path, default=ROOT / "var")
    p.add_argument("--record", action="store_true", help="write the result into docs/benchmarks.md")
    args = p.parse_args()

    t0 = time.perf_counter()
    city = load_demo_city(args.var_dir, args.seed)
    t1 = time.perf_counter()
    assigner = Assigner(city)
    t2 = time.perf_counter()
    minx, miny, maxx, maxy = city.districts.total_bounds
    rng = np.random.default_rng(1)
    lon = rng.uniform(minx, maxx, args.points)
    lat = rng.uniform(miny, maxy, args.points)
    times = _runs(assigner, lon, lat, args.repeat)
    mix = assigner.assign(lon, lat)["status"].value_counts().to_dict()
    # appeals happen where people live: points scattered ~300 m around community points
    comm = city.communities.iloc[rng.integers(0, len(city.communities), args.points)]
    near_lon = comm["lon"].to_numpy() + rng.normal(0, 0.0035, args.points)
    near_lat = comm["lat"].to_numpy() + rng.normal(0, 0.0027, args.points)
    near_times = _runs(assigner, near_lon, near_lat, args.repeat)
    near_mix = assigner.assign(near_lon, near_lat)["status"].value_counts().to_dict()
    best, median = min(times), statistics.median(times)
    lines = [
        f"- {args.points:,} uniform random points over the city's bounding box "
        f"({minx:.3f}–{maxx:.3f} E, {miny:.3f}–{maxy:.3f} N), demo city seed {args.seed}: "
        f"{len(city.grids):,} grids, {len(city.communities):,} communities",
        f"- **{args.points / median:,.0f} points/s** (median of {args.repeat}; best {args.points / best:,.0f}/s; "
        f"{median:.2f} s per run); goal ≥ 50,000/s",
        f"- statuses: {', '.join(f'{k} {v:,}' for k, v in sorted(mix.items()))}",
        f"- {args.points:,} points scattered ~300 m around community points (like real appeals): "
        f"**{args.points / statistics.median(near_times):,.0f} points/s**; "
        f"statuses: {', '.join(f'{k} {v:,}' for k, v in sorted(near_mix.items()))}",
        f"- city load {t1 - t0:.2f} s (cached or built), Assigner build {t2 - t1:.3f} s",
        f"- {dt.date.today().isoformat()}, {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), "
        f"{cpu_model()}, Python {platform.python_version()}",
        "- run: `python benchmarks/assign.py --record`",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()

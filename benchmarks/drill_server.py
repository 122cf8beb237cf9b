"""Server time of a drill-down page's reads on a big store: the page's first answer, and what is read once it is
drawn (below the fold), per level (the city, the busiest district, its busiest street), as a command center user.

Times the data layer's reads that the callbacks make (callbacks/drill.py `area_data`, `history_data`,
`categories_data`), uncached, wall-clock and this process's CPU; building the components adds a few ms. Each
level `--runs` times, median. Reads only: the shared read-only store may be used. In a tree without
`area_history` (before the first answer avoided the scan) the page's one read served both. Usage:

    python benchmarks/drill_server.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema bench1m
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from benchmarks.fill_store import schema_url
from dashboard.drill import Area, Filters
from dashboard.scopes import Scope
from dashboard.settings import load_settings
from data_access.drill import page
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import Appeal
from geo.city_index import index_of
from geo.demo_city import load_demo_city


def timed(read: Any) -> tuple[float, float]:
    """(wall ms, CPU ms) of one call."""
    w, c = time.perf_counter(), time.process_time()
    read()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--var-dir", default=str(Path(__file__).resolve().parent.parent / "var" / "test-cache"))
    args = ap.parse_args(argv)
    engine = make_engine(schema_url(args.url, args.schema))
    sessions = make_sessionmaker(engine)
    city = load_demo_city(Path(args.var_dir), 12345)
    refs = index_of(city)
    settings = load_settings(var_dir=Path(args.var_dir), demo=False)
    scope, f = Scope("command_center"), Filters()
    with sessions() as s:
        now = s.scalar(select(func.max(Appeal.created_at)))
        district = s.scalar(select(Appeal.district).group_by(Appeal.district).order_by(func.count().desc()).limit(1))
        street = s.scalar(
            select(Appeal.street)
            .where(Appeal.district == district)
            .group_by(Appeal.street)
            .order_by(func.count().desc())
            .limit(1)
        )
    assert now is not None
    history = getattr(page, "area_history", None)
    load = os.getloadavg()
    print(f"load average at the start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} CPUs")
    for area in (Area(), Area("district", district), Area("street", street)):
        first, below = [], []
        for _ in range(args.runs):
            with sessions() as s:
                first.append(timed(lambda s=s, area=area: page.area_page(s, area, f, scope, now, settings, refs)))
            with sessions() as s:
                t = timed(lambda s=s, area=area: page.area_categories(s, area, f, scope, now, refs))
                if history is not None:
                    h = timed(lambda s=s, area=area: history(s, area, f, scope, now, settings, refs))
                    t = (t[0] + h[0], t[1] + h[1])
                below.append(t)
        name = area.level if area.code is None else f"{area.level} {area.code}"
        print(
            f"{name:20s} first answer: median {statistics.median(w for w, _ in first):7.0f} ms "
            f"(CPU {statistics.median(c for _, c in first):4.0f} ms); below the fold, after it: median "
            f"{statistics.median(w for w, _ in below):7.0f} ms (CPU {statistics.median(c for _, c in below):4.0f} ms)"
        )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

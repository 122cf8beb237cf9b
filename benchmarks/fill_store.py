"""Fill a store with N synthetic appeals over the demo city, fast (PostgreSQL COPY / SQLite executemany).

Rows go straight into `appeals` (the fold's output), not through Redis and the ingest worker: this
builds the big stores the wall's benchmarks need (1 M, 3 M appeals) in minutes. The shape: 40,000
appeals a day (so N sets how many days of history), priorities and limits of the settings, about
50,000 open (most of the last day's, fewer of the last week's, a trickle of older ones), the rest
resolved, closed and mostly called back. The log gets each appeal's `dispatched` and each call-back's
`reviewed` event (what the wall's rankings read), and the projector's checkpoint is set past them. Usage:

    python benchmarks/fill_store.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test \
        --schema bench1m --appeals 1000000
    python benchmarks/fill_store.py --url sqlite:////tmp/bench1m.sqlite --appeals 1000000
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.partitions import partition_key
from data_access.intake.reference_data import load_reference
from data_access.store.engine import make_engine, make_sessionmaker, migrate
from data_access.store.models import ProjectionCheckpoint
from geo.demo_city import load_demo_city

PER_DAY = 40_000
PRIORITIES = np.array(["emergency", "urgent", "normal", "routine"])
P_PRIORITY = [0.02, 0.2, 0.6, 0.18]
LIMIT_H = np.array([2, 24, 168, 360])
CATS = [
    ("城市管理", "市容环境", "垃圾清运"),
    ("住房", "物业服务", "物业管理"),
    ("交通", "道路", "施工噪声"),
    ("供暖", "供热", "暖气不热"),
    ("市场监管", "消费", "预付卡"),
]
SAT = np.array(["satisfied", "basically_satisfied", "dissatisfied"])
#: Time columns of `appeals` (the store keeps naive UTC).
TIMES = (
    "created_at",
    "clock_start",
    "due_at",
    "yellow_from",
    "red_from",
    "first_dispatched_at",
    "resolved_at",
    "closed_at",
    "reviewed_at",
    "last_event_at",
)
EVENT_COLS = ("id", "appeal", "partition_key", "type", "at", "payload", "source", "received_at")


def schema_url(url: str, schema: str | None) -> str:
    """The URL with a PostgreSQL search_path (a schema per benchmark store)."""
    return url if not schema else f"{url}?options=-csearch_path%3D{schema}"


def frame(n: int, start: int, now: datetime, days: float, city, rng: np.random.Generator) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """n appeal rows numbered from start."""
    g = city.grids
    depts = city.units[city.units["kind"] != "street"]["code"].to_numpy()
    # Skewed community popularity: a few busy grids, many quiet ones.
    weights = rng.pareto(1.5, len(g)) + 0.1
    pick = rng.choice(len(g), size=n, p=weights / weights.sum())
    age_s = rng.uniform(0, days * 86400, n)
    created = pd.Timestamp(now) - pd.to_timedelta(age_s, unit="s")
    pri = rng.choice(4, size=n, p=P_PRIORITY)
    limit = pd.to_timedelta(LIMIT_H[pri], unit="h")
    start_t = created + pd.to_timedelta(10, unit="m")
    due = start_t + limit
    age_d = age_s / 86400
    p_open = np.where(age_d < 1, 0.8, np.where(age_d < 7, 0.08, 0.002 if days > 30 else 0.004))
    is_open = rng.random(n) < p_open
    resolved = start_t + limit * rng.uniform(0.2, 1.2, n)
    resolved = resolved.where(resolved < pd.Timestamp(now), pd.Timestamp(now) - pd.to_timedelta(60, unit="s"))
    reviewed = (~is_open) & (rng.random(n) < 0.9)
    reviewed_at = resolved + pd.to_timedelta(rng.uniform(2, 48, n), unit="h")
    reviewed &= reviewed_at < pd.Timestamp(now)
    cat = rng.integers(0, len(CATS), n)
    street_unit = rng.random(n) < 0.85
    units = np.where(street_unit, g["street"].to_numpy()[pick], depts[rng.integers(0, len(depts), n)])
    cats = np.array(CATS, dtype=object)[cat]
    df = pd.DataFrame(
        {
            "id": [f"B{start + i:09d}" for i in range(n)],
            "status": np.where(is_open, "accepted", "closed"),
            "is_open": is_open,
            "created_at": created,
            "channel": "phone",
            "kind": "complaint",
            "cat1": cats[:, 0],
            "cat2": cats[:, 1],
            "cat3": cats[:, 2],
            "priority": PRIORITIES[pri],
            "lon": None,
            "lat": None,
            "grid": g["code"].to_numpy()[pick],
            "community": g["community"].to_numpy()[pick],
            "street": g["street"].to_numpy()[pick],
            "district": g["district"].to_numpy()[pick],
            "address": None,
            "summary": "居民反映问题，希望尽快处理",
            "unit": units,
            "member": None,
            "dispatch_count": 1,
            "return_count": 0,
            "extension_count": 0,
            "reopen_count": 0,
            "clock_start": start_t,
            "due_at": due,
            "yellow_from": start_t + limit * 0.5,
            "red_from": due,
            "first_dispatched_at": start_t,
            "resolved_at": resolved.where(~is_open),
            "closed_at": (resolved + pd.to_timedelta(1, unit="D")).where(~is_open),
            "reviewed": reviewed,
            "reviewed_at": reviewed_at.where(reviewed),
            "responded": pd.Series(rng.random(n) < 0.97).where(reviewed),
            "resolved_flag": pd.Series(rng.random(n) < 0.85).where(reviewed),
            "satisfaction": pd.Series(SAT[rng.choice(3, n, p=[0.7, 0.2, 0.1])]).where(reviewed),
            "last_event_at": created,
        }
    )
    for col in TIMES:
        df[col] = pd.to_datetime(df[col]).dt.tz_convert("UTC").dt.tz_localize(None)  # the store keeps naive UTC
    return df


def events(df: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The log's events the wall's rankings read (data_access/wall/history.py): each appeal's `dispatched` (the
    unit a call-back counts for) and, for reviewed appeals, its `reviewed` call-back with the answers."""
    got = pd.Timestamp(now).tz_convert("UTC").tz_localize(None)
    disp = pd.DataFrame(
        {
            "id": "f-d-" + df["id"],
            "appeal": df["id"],
            "type": "dispatched",
            "at": df["first_dispatched_at"],
            "payload": ['{"unit": "' + u + '"}' for u in df["unit"]],
        }
    )
    r = df[df["reviewed"]]
    true = {True: "true", False: "false"}
    rev = pd.DataFrame(
        {
            "id": "f-r-" + r["id"],
            "appeal": r["id"],
            "type": "reviewed",
            "at": r["reviewed_at"],
            "payload": [
                f'{{"responded": {true[bool(a)]}, "resolved": {true[bool(b)]}, "satisfaction": "{c}"}}'
                for a, b, c in zip(r["responded"], r["resolved_flag"], r["satisfaction"])
            ],
        }
    )
    ev = pd.concat([disp, rev], ignore_index=True).sort_values(["at", "id"], kind="stable")
    ev["partition_key"] = [partition_key(a) for a in ev["appeal"]]
    ev["source"] = "fill_store"
    ev["received_at"] = got
    return ev[list(EVENT_COLS)]


def copy_pg(engine, df: pd.DataFrame, table: str = "appeals") -> None:  # type: ignore[no-untyped-def]
    """COPY rows into a table."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False, na_rep="\\N")
    buf.seek(0)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = ",".join(df.columns)
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
            while chunk := buf.read(1 << 20):
                cp.write(chunk)
        raw.commit()
    finally:
        raw.close()


def insert_sqlite(engine, df: pd.DataFrame, table: str = "appeals") -> None:  # type: ignore[no-untyped-def]
    """Insert rows in one transaction."""
    cols = list(df.columns)
    rows = df.astype(object).where(df.notna(), None)
    for c in (x for x in (*TIMES, "at", "received_at") if x in rows):
        rows[c] = [None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in rows[c]]
    for c in (x for x in ("is_open", "reviewed", "responded", "resolved_flag") if x in rows):
        rows[c] = [None if v is None else int(bool(v)) for v in rows[c]]
    raw = engine.raw_connection()
    try:
        raw.executemany(
            f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
            rows.itertuples(index=False, name=None),
        )
        raw.commit()
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> int:
    """Create (or replace) the store and fill it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None, help="PostgreSQL schema to (re)create and fill")
    ap.add_argument("--appeals", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--var-dir", default=str(Path(__file__).resolve().parent.parent / "var" / "test-cache"))
    args = ap.parse_args(argv)
    city = load_demo_city(Path(args.var_dir), 12345)
    if args.schema:
        admin = make_engine(args.url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {args.schema}"))
        admin.dispose()
    elif args.url.startswith("sqlite:///"):
        Path(args.url[len("sqlite:///") :]).unlink(missing_ok=True)
    engine = make_engine(schema_url(args.url, args.schema))
    migrate(engine)
    with make_sessionmaker(engine)() as s, s.begin():
        load_reference(s, city)
    now = datetime.now(UTC)
    days = args.appeals / PER_DAY
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    chunk = 200_000
    for start in range(0, args.appeals, chunk):
        df = frame(min(chunk, args.appeals - start), start, now, days, city, rng)
        write = copy_pg if engine.dialect.name == "postgresql" else insert_sqlite
        write(engine, df)
        write(engine, events(df, now), "appeal_events")
        print(f"  {start + len(df):,} appeals  {time.perf_counter() - t0:.0f} s", flush=True)
    with engine.begin() as conn:  # the projector must not fold the filled log again: it starts past it
        last = conn.exec_driver_sql("SELECT max(seq) FROM appeal_events").scalar() or 0
        conn.execute(delete(ProjectionCheckpoint))
        conn.execute(
            insert(ProjectionCheckpoint), [{"partition": 0, "partitions": 1, "position": last, "updated_at": now}]
        )
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            auto.exec_driver_sql("VACUUM ANALYZE appeals")
            auto.exec_driver_sql("VACUUM ANALYZE appeal_events")
        else:
            conn.exec_driver_sql("ANALYZE")
        n_open = conn.exec_driver_sql("SELECT count(*) FROM appeals WHERE is_open").scalar()
    print(f"filled {args.appeals:,} appeals over {days:.0f} days, {n_open:,} open, in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

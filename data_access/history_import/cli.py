"""`python app.py import FILE… --mapping MAPPING.toml`: load an old system's work orders into the store."""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from dashboard.history_mapping import Mapping, MappingError, mapping_from_dict
from dashboard.settings import Settings
from data_access.history_import.readers import ExportError
from data_access.history_import.run import BATCH_ROWS, import_files
from data_access.intake.reference_data import Gazetteer, load_reference
from data_access.projection.projector import Projector
from data_access.store.deferred_indexes import left_out
from data_access.store.engine import database_url, make_engine, make_sessionmaker, migrate
from geo.loader import load_city


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `import` subcommand."""
    p = sub.add_parser("import", help="load historical work orders (CSV, XLSX, Parquet) by a mapping file")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="exports, one row per appeal")
    p.add_argument("--mapping", required=True, type=Path, help="TOML file mapping the export to the contract")
    p.add_argument(
        "--rejects", type=Path, help="CSV of the rows not imported, with reasons (default: FILE.rejects.csv)"
    )
    p.add_argument("--batch", type=int, default=BATCH_ROWS, help="rows per transaction (default %(default)s)")
    p.add_argument(
        "--initial",
        action="store_true",
        help="a first load into a store that holds little: the secondary indexes of the log and the appeals are left "
        "out and built once at the end (the screens read slowly meanwhile)",
    )


def read_mapping(path: Path) -> Mapping:
    """A mapping file, read and checked; MappingError naming the file and the key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not TOML: {exc}") from None
    try:
        return mapping_from_dict(doc, name=path.name)
    except MappingError as exc:
        raise MappingError(f"{path}: {exc}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import the files; 2 if the mapping or a file is unusable (nothing written), else 0."""
    try:
        mapping = read_mapping(args.mapping)
    except MappingError as exc:
        print(f"cannot import: {exc}", file=sys.stderr)
        return 2
    if args.batch < 1:
        print("cannot import: --batch must be at least 1", file=sys.stderr)
        return 2
    engine = make_engine(database_url(settings), writer=True)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    city = load_city(settings)
    with sessions() as s, s.begin():
        load_reference(s, city)
    rejects = args.rejects or args.files[0].with_name(args.files[0].name + ".rejects.csv")
    try:
        with left_out(engine, args.initial):
            summary = import_files(
                args.files,
                mapping,
                sessions,
                settings,
                Gazetteer(city, settings.snap_distance_m),
                rejects,
                batch=args.batch,
            )
            if summary.deferred:
                Projector(settings, sessions).drain()  # fold what was left to projectors (none may be running)
    except ExportError as exc:
        print(f"cannot import: {exc}", file=sys.stderr)
        return 2
    engine.dispose()
    print(f"import: {summary.line()}")
    print(f"rejected rows: {rejects}" if summary.rejected else f"no rejected rows ({rejects} lists none)")
    return 0

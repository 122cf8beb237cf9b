"""Checks on a city's frames as read from files; each problem names the file, the row and the code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

#: A child may stick out of its parent by this share of its area (boundary rounding), no more.
OUTSIDE_SHARE = 0.01
#: A community point may lie this far (degrees, ~1 m) outside its street.
POINT_SLACK_DEG = 1e-5
_MAX_LISTED = 25


class CityDataError(ValueError):
    """The city's files are wrong; the message lists each problem with file, row (1-based) and code."""

    def __init__(self, problems: list[str]) -> None:
        """Keep the problems; the message shows the first ones."""
        self.problems = list(problems)
        shown = self.problems[:_MAX_LISTED]
        more = len(self.problems) - len(shown)
        text = "\n".join(f"  {p}" for p in shown) + (f"\n  … and {more} more" if more > 0 else "")
        super().__init__(f"invalid city data ({len(self.problems)} problem(s)):\n{text}")


class Problems(list[str]):
    """Collects problems; raise_if_any() turns them into one CityDataError."""

    def add(self, file: Path, row: int | None, code: object, problem: str) -> None:
        """Record one problem; row is 0-based here and shown 1-based."""
        where = f"row {row + 1}" if row is not None else "header"
        what = f" (code {code!r})" if code is not None else ""
        self.append(f"{file}: {where}{what}: {problem}")

    def raise_if_any(self) -> None:
        """Raise CityDataError if anything was recorded."""
        if self:
            raise CityDataError(list(self))


def require_columns(frame: pd.DataFrame, columns: list[str], file: Path, out: Problems) -> bool:
    """Record missing columns; True if all are there."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        out.add(file, None, None, f"missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}")
    return not missing


def require_values(frame: pd.DataFrame, columns: list[str], key: str, file: Path, out: Problems) -> None:
    """Record empty cells in required columns."""
    for col in columns:
        for i in np.flatnonzero(frame[col].isna().to_numpy()):
            out.add(file, int(i), frame[key].iat[i], f"empty {col}")


def unique(frame: pd.DataFrame, key: str, file: Path, out: Problems) -> None:
    """Record repeated codes, naming the row of the repeat and of the first occurrence."""
    values = frame[key]
    dup = values.duplicated(keep="first").to_numpy() & values.notna().to_numpy()
    first = {v: i for i, v in reversed(list(enumerate(values)))}
    for i in np.flatnonzero(dup):
        out.add(file, int(i), values.iat[i], f"duplicate {key}: already on row {first[values.iat[i]] + 1}")


def known(
    frame: pd.DataFrame, col: str, key: str, parents: pd.Series, file: Path, parent_file: Path | str, out: Problems
) -> None:
    """Record parent codes that do not exist in the parent file."""
    values = frame[col]
    bad = values.notna().to_numpy() & ~values.isin(set(parents.dropna())).to_numpy()
    for i in np.flatnonzero(bad):
        out.add(file, int(i), frame[key].iat[i], f"unknown {col} {values.iat[i]!r} (not in {parent_file})")


def consistent(frame: pd.DataFrame, col: str, key: str, expected: pd.Series, file: Path, out: Problems) -> None:
    """Record cells that disagree with the value implied by the parent (e.g. a grid's district)."""
    values = frame[col]
    bad = values.notna().to_numpy() & expected.notna().to_numpy() & (values.to_numpy() != expected.to_numpy())
    for i in np.flatnonzero(bad):
        out.add(file, int(i), frame[key].iat[i], f"{col} {values.iat[i]!r} but its parent says {expected.iat[i]!r}")


def valid_geometry(frame: pd.DataFrame, key: str, kind: str, file: Path, out: Problems) -> None:
    """Record missing, empty, wrongly typed or invalid (e.g. self-intersecting) geometries."""
    geoms = frame.geometry.to_numpy()
    types = ("Polygon", "MultiPolygon") if kind == "polygon" else ("Point",)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            out.add(file, i, frame[key].iat[i], "missing or empty geometry")
        elif g.geom_type not in types:
            out.add(file, i, frame[key].iat[i], f"geometry is {g.geom_type}, expected {' or '.join(types)}")
        elif not shapely.is_valid(g):
            out.add(file, i, frame[key].iat[i], f"invalid geometry: {shapely.is_valid_reason(g)}")


def within_parent(child: pd.DataFrame, col: str, key: str, parent: pd.DataFrame, file: Path, out: Problems) -> None:
    """Record children lying outside their parent polygon (points: beyond ~1 m; polygons: >1% of area)."""
    index = pd.Series(np.arange(len(parent)), index=parent["code"].to_numpy())
    pos = index.reindex(child[col].to_numpy()).to_numpy()
    ok = ~np.isnan(pos)
    rows = np.flatnonzero(ok)
    geoms = child.geometry.to_numpy()[rows]
    homes = parent.geometry.to_numpy()[pos[ok].astype(np.int64)]
    if len(rows) == 0:
        return
    if shapely.get_type_id(geoms[0]) == 0:  # points
        bad = ~shapely.dwithin(homes, geoms, POINT_SLACK_DEG)
    else:
        shapely.prepare(homes)
        inside = shapely.covers(homes, geoms)
        bad = np.zeros(len(rows), dtype=bool)
        test = np.flatnonzero(~inside)
        if len(test):
            outside = shapely.area(shapely.difference(geoms[test], homes[test]))
            bad[test] = outside > OUTSIDE_SHARE * shapely.area(geoms[test])
    for j in np.flatnonzero(bad):
        i = int(rows[j])
        where = ""
        if shapely.get_type_id(geoms[j]) == 0:
            where = f" at ({geoms[j].x:.6f}, {geoms[j].y:.6f})"
        out.add(file, i, child[key].iat[i], f"lies outside its {col} {child[col].iat[i]!r}{where}")

"""The demo city's handling units and grid-member roster."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.model import MEMBER_COLUMNS, ROLES, UNIT_COLUMNS
from geo.names import COMPANIES, DEPARTMENTS, person_names


def build_units(streets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every street as a unit, plus the 65 municipal departments (D001…) and 49 companies (C001…)."""
    frames = [
        pd.DataFrame(
            {
                "code": streets["code"].to_numpy(),
                "name": streets["name"].to_numpy(),
                "kind": "street",
                "district": streets["district"].to_numpy(),
            }
        ),
        pd.DataFrame(
            {
                "code": [f"D{i:03d}" for i in range(1, len(DEPARTMENTS) + 1)],
                "name": list(DEPARTMENTS),
                "kind": "department",
                "district": None,
            }
        ),
        pd.DataFrame(
            {
                "code": [f"C{i:03d}" for i in range(1, len(COMPANIES) + 1)],
                "name": list(COMPANIES),
                "kind": "company",
                "district": None,
            }
        ),
    ]
    units = pd.concat(frames, ignore_index=True)
    return units.sort_values("code", ignore_index=True)[UNIT_COLUMNS]


def build_members(grids: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The five grid roles: per street an instructor and a chief grid leader, per community a grid
    leader, per grid one full-time member and one or two grid members; ids M-<grid>-<nn>."""
    g = grids[["code", "community", "street", "district"]].rename(columns={"code": "grid"})
    first_of_street = g.drop_duplicates("street")  # grids are sorted by code: the street's first grid
    first_of_community = g.drop_duplicates("community")
    extra = rng.integers(1, 3, len(g))  # one or two grid members per grid
    parts = [
        first_of_street.assign(role=ROLES[0]),
        first_of_street.assign(role=ROLES[1]),
        first_of_community.assign(role=ROLES[2]),
        g.assign(role=ROLES[3]),
        g.loc[g.index.repeat(extra)].assign(role=ROLES[4]),
    ]
    rank = {r: i for i, r in enumerate(ROLES)}
    m = pd.concat(parts, ignore_index=True)
    m["_rank"] = m["role"].map(rank)
    m = m.sort_values(["grid", "_rank"], kind="stable", ignore_index=True)
    nn = m.groupby("grid", sort=False).cumcount() + 1
    m["id"] = "M-" + m["grid"] + "-" + nn.map("{:02d}".format)
    m["name"] = person_names(rng, len(m))
    return m[MEMBER_COLUMNS]

"""The demo city: Beijing's real 16 districts, divided into synthetic streets, communities and grids."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from geo.boundaries import beijing_districts
from geo.city_files import model_order, read_city, text_columns, write_city
from geo.model import City
from geo.synth_people import build_members, build_units
from geo.synth_places import build_communities, build_grids, build_streets
from geo.tessellate import area_km2

#: Bump when the generator changes, so caches built by older code are not reused.
DEMO_VERSION = 2
DEMO_NAME = "北京市"

log = logging.getLogger(__name__)


def build_demo_city(seed: int = 12345) -> City:
    """Build the demo city from scratch (a couple of seconds); the same seed gives the same city."""
    rng = np.random.default_rng(seed)
    districts = beijing_districts()
    districts["area_km2"] = np.round(area_km2(districts.geometry.to_numpy()), 4)
    streets = build_streets(districts, rng)
    communities, cells = build_communities(streets, rng)
    grids = build_grids(communities, cells, rng)
    members = build_members(grids, rng)
    streets = streets.drop(columns=["seed_lon", "seed_lat"])
    frames = {
        "districts": districts,
        "streets": streets,
        "communities": communities,
        "grids": grids,
        "units": build_units(streets),
        "members": members,
    }
    return City(name=DEMO_NAME, **{k: model_order(text_columns(v), k) for k, v in frames.items()})


def demo_cache_dir(var_dir: Path, seed: int = 12345) -> Path:
    """Folder holding the cached demo city of `seed`."""
    return Path(var_dir) / f"city-{seed}-v{DEMO_VERSION}"


def load_demo_city(var_dir: Path, seed: int = 12345) -> City:
    """The demo city from its cache under var_dir, building and caching it first if missing or damaged."""
    folder = demo_cache_dir(var_dir, seed)
    if folder.is_dir():
        try:
            return read_city(folder)
        except Exception as exc:  # noqa: BLE001 - any damage to a cache means: rebuild it
            log.warning("demo city cache %s unreadable (%s); rebuilding", folder, exc)
    city = build_demo_city(seed)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write_city(city, tmp)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(tmp, folder)  # atomic: readers see the whole cache or none
        except OSError:
            if not folder.is_dir():  # another process won the race: its copy is as good as ours
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return city

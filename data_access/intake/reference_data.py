"""Checks of events against the city's reference data, and loading that data into the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from dashboard.contract import Event
from data_access.intake.event_log import Place
from data_access.store.models import (
    Community,
    District,
    Grid,
    Member,
    Meta,
    Street,
    Unit,
)
from geo.assign import Assigner
from geo.city_files import fingerprint
from geo.city_index import REFERENCE_TABLES, CityIndex, index_of
from geo.crs import to_wgs84
from geo.model import City

UNIT_EVENTS = ("dispatched", "accepted", "returned", "resolved")


class Gazetteer:
    """What the ingest checks an event's places, units and members against."""

    def __init__(self, city: City, snap_distance_m: float = 300.0) -> None:
        self.city = city
        self.assigner = Assigner(city, snap_distance_m)
        self.index = index_of(city)

    def place_events(self, events: Sequence[Event]) -> list[Place | str | None]:
        """Per event: its Place (created), None (no place needed) or a rejection reason."""
        out: list[Place | str | None] = [None] * len(events)
        located = [i for i, e in enumerate(events) if e.type == "created" and e.data.get("location")]
        by_crs: dict[str, list[int]] = {}
        for i in located:
            by_crs.setdefault(events[i].data["location"].get("crs") or "wgs84", []).append(i)
        assigned: dict[int, Place | str] = {}
        for crs, idx in by_crs.items():
            lon = np.array([events[i].data["location"]["lon"] for i in idx], dtype=float)
            lat = np.array([events[i].data["location"]["lat"] for i in idx], dtype=float)
            wlon, wlat = to_wgs84(lon, lat, crs)
            frame = self.assigner.assign(np.asarray(wlon), np.asarray(wlat))
            for i, row in zip(idx, frame.itertuples(index=False)):
                if row.status == "outside":
                    loc = events[i].data["location"]
                    assigned[i] = f"location ({loc['lon']}, {loc['lat']}, {crs}) is outside the city"
                else:
                    assigned[i] = Place(row.grid, row.community, row.street, row.district)
        for i, e in enumerate(events):
            if e.type == "created":
                out[i] = self._created_place(e, assigned.get(i))
            elif e.type in UNIT_EVENTS and e.data["unit"] not in self.index.unit_name:
                out[i] = f"unknown unit {e.data['unit']!r}"
        return out

    def _created_place(self, e: Event, located: Place | str | None) -> Place | str:
        if isinstance(located, str):
            return located
        code = e.data.get("community")
        if code is None:
            assert located is not None  # the contract requires location or community
            return located
        street = self.index.community_street.get(code)
        if street is None:
            return f"unknown community {code!r}"
        if located is not None and located.community == code:
            return located
        # the intake's explicit community wins; a grid elsewhere is dropped
        return Place(None, code, street, self.index.community_district[code])

    def known_member(self, member: str) -> bool:
        """Whether a grid member is on the roster."""
        return member in self.index.member_name


#: The store's reference tables in CityIndex's order (REFERENCE_TABLES), each with the columns the index reads.
_TABLES = (
    (District, ("code", "name")),
    (Street, ("code", "name", "district")),
    (Community, ("code", "name", "street", "district", "lon", "lat")),
    (Grid, ("code", "name", "community", "street", "district")),
    (Unit, ("code", "name", "kind", "district")),
    (Member, ("id", "name", "grid", "community", "street", "district")),
)


def stored_index(session: Session) -> CityIndex | None:
    """The index of the city as the store holds it (the one its appeals were placed in, written by
    `load_reference`), read from the reference tables without the boundaries, which the store does not hold: for a
    process that draws no map (a report build). None if the store holds no city yet."""
    name = session.scalar(select(Meta.value).where(Meta.key == "city_name"))
    if name is None or session.scalar(select(Meta.value).where(Meta.key == "city_version")) is None:
        return None
    tables = {}
    for key, (model, cols) in zip(REFERENCE_TABLES, _TABLES):
        columns: dict[str, list[Any]] = {c: [] for c in cols}
        q = select(*(getattr(model, c) for c in cols)).order_by(getattr(model, cols[0]))
        for part in session.execute(q.execution_options(yield_per=10_000)).partitions():  # rows held: a part's
            for values, column in zip(zip(*part), columns.values()):
                column.extend(values)
        tables[key] = columns
    return CityIndex.without_boundaries(name, tables)


def load_reference(session: Session, city: City) -> bool:
    """Replace the store's reference data with the city's, unless it is already that; True if loaded."""
    version = fingerprint(city)
    if session.scalar(select(Meta.value).where(Meta.key == "city_version")) == version:
        return False
    c = city
    tables = [
        (District, c.districts, ["code", "name"]),
        (Street, c.streets, ["code", "name", "district"]),
        (Community, c.communities, ["code", "name", "street", "district", "lon", "lat"]),
        (Grid, c.grids, ["code", "name", "community", "street", "district"]),
        (Unit, c.units, ["code", "name", "kind", "district"]),
        (Member, c.members, ["id", "name", "role", "grid", "community", "street", "district"]),
    ]
    for model, frame, cols in tables:
        session.execute(delete(model))
        records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
        for i in range(0, len(records), 2000):
            session.execute(insert(model), records[i : i + 2000])
    session.merge(Meta(key="city_version", value=version))
    session.merge(Meta(key="city_name", value=city.name))
    return True

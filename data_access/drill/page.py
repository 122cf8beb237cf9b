"""Everything one drill-down page shows, read in one session: the area's panels, or one appeal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dashboard.drill import Area, Filters, Place
from dashboard.scopes import Scope
from dashboard.settings import Settings
from data_access.drill import queries as q
from data_access.drill.appeal import appeal_detail
from data_access.projection.checkpoints import checkpoints
from data_access.store.appeal_rows import appeal_row, columns_of, names_of
from data_access.store.models import Appeal
from geo.city_index import CityIndex
from geo.layers import collection

RED_ROWS = 50
TOP_CATEGORIES = 10


def place_of(session: Session, area: Area, refs: CityIndex) -> Place | None:
    """Where a page's area lies (appeals: read from the store); None if there is no such place."""
    if area.level != "appeal":
        return refs.place(area)
    where = q.appeal_place(session, area.code or "")
    if where is None:
        return None
    return refs.place_of(area, where)


def area_page(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, settings: Settings, refs: CityIndex
) -> dict[str, Any]:
    """The panels of an area page above the fold, every one narrowed by the filters and the scope (the long lists
    are not here: the page's grids read them a block at a time, data_access/drill/rows.py).

    The lights and the map's colours come from the open appeals alone when they can (`queries.open_figures`:
    index-only reads), so the first answer of a city, district or street page does not read every appeal of the
    area; then `subs` holds only the open and red counts and `trend` is None, and `area_history` reads the rest
    once the page is drawn. A map coloured by a volume or a rate, or a filter on the rows, needs that read here."""
    kids = refs.children_in(area, scope)
    fast = q.open_figures(session, area, f, scope, now, refs, kids) if f.fig in q.OPEN_FIGS else None
    trend: list[dict[str, Any]] | None = None
    if fast is not None:
        lights, subs = fast
    else:
        lights, subs, trend = q.area_figures(session, area, f, scope, now, refs, kids, settings)  # one read
    return {
        "lights": lights,
        "red": q.red_list(session, area, f, scope, now, refs, RED_ROWS),  # the map's red points
        "members": q.members(session, area, scope, now, settings, 0),  # counts: the list is a grid of its own
        "subs": q.rank(subs, f.fig),
        "trend": trend,
        "sub_layer": refs.sub_layer(area, kids),
        "outline": refs.outline(area),
        "bounds": refs.area_bounds(area),
        "position": sorted(checkpoints(session).items()),  # moves with every event folded: the grids' cue
    }


def area_history(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, settings: Settings, refs: CityIndex
) -> dict[str, Any]:
    """The sub-areas' volumes and rates and the trend (below the fold): one read of the area's matching appeals
    (`queries.area_figures`)."""
    kids = refs.children_in(area, scope)
    _lights, subs, trend = q.area_figures(session, area, f, scope, now, refs, kids, settings)
    return {"subs": q.rank(subs, f.fig), "trend": trend}


def area_categories(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, refs: CityIndex
) -> list[dict[str, Any]]:
    """The page's most frequent categories (below the fold: read after the page is drawn)."""
    return q.top_categories(session, area, f, scope, now, TOP_CATEGORIES, refs)


def appeal_page(
    session: Session, appeal_id: str, now: datetime, settings: Settings, refs: CityIndex
) -> dict[str, Any] | None:
    """One appeal: its state, light, due time, events (with unit and member names), review answers, place."""
    d = appeal_detail(session, appeal_id, now, settings)
    a = session.get(Appeal, appeal_id) if d is not None else None  # no second read: appeal_detail loaded it
    if d is None or a is None:
        return None
    row = appeal_row(columns_of(a), now, names_of(refs))
    for e in d["events"]:
        e["unit_name"] = refs.unit_name.get(e.get("unit") or "", e.get("unit") or "")
        e["member_name"] = refs.member_name.get(e.get("member") or "", e.get("member") or "")
    d["unit_name"], d["member_name"] = row["unit_name"], row["member_name"]
    d["point"] = None if row["lonlat"] is None else dict(zip(("lon", "lat"), row["lonlat"]))
    grid = Area("grid", d["grid"]) if d["grid"] else None
    d["outline"] = refs.outline(grid) if grid else collection()
    d["bounds"] = (
        refs.area_bounds(grid)
        if grid
        else refs.area_bounds(Area("community", d["community"]))
        if d["community"]
        else refs.area_bounds(Area())
    )
    return d

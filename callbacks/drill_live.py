"""The drill-down pages live: the area page's tick, the appeal page's, and the grids' rows a block at a time.

The tick is the wall's discipline (callbacks/wall.py): the interval is disabled while a tick runs, so ticks never
overlap; the browser reports the version it shows and gets only the values that changed (callbacks/wall_diff.py);
the map's layers get new data, never a new center or zoom; the filters stay in the URL. The grids' rows are read
in SQL a block at a time (data_access/drill/rows.py); when the store has moved on, the grids are told to read
their visible blocks again (their sort, filter and scroll position kept). Every callback starts with `served`: the
URL's place checked against the signed-in scope (the server-side identity) and the page's filters; the queries apply
the scope again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, NamedTuple

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.auth import current_identity
from callbacks.drill import DIFFER, appeal_data, checked_place, page_filters, page_parts, rows_version
from dashboard import ids, ids_drill
from dashboard.drill import Area, FilterError, Filters, Place, parse_path
from data_access.drill.rows import TABLES, Block, RowsError, appeal_block, block_of, member_block
from data_access.ops.services import Services
from geo.city_index import index_of
from layouts import drill_appeal as LA
from layouts import drill_grids as LG
from layouts.drill_live import APPEAL_OUTPUTS, BELOW, OUTPUTS, appeal_values, live_values

log = logging.getLogger(__name__)


class NotServed(PreventUpdate):
    """Nothing for this callback at this URL: a place unknown or outside the scope (audited), the other kind of page,
    a bad filter (the reason is the message, which a grid shows). A tick's Dash answer is "no update"."""


class Served(NamedTuple):
    area: Area
    place: Place
    f: Filters


def served(svc: Services, what: str, pathname: str | None, search: str | None, appeal: bool = False) -> Served:
    """What every live callback of a drill page checks first: the URL's area (an area page's, or an appeal page's
    when `appeal`), the signed-in scope may see it (else refused and audited as `what`), and the page's filters.
    Raises NotServed otherwise."""
    area = parse_path(pathname)
    place = checked_place(svc, index_of(svc.city), area, what, f"{pathname}{search or ''}")
    if place is None or area is None or (area.level == "appeal") != appeal or (appeal and not area.code):
        raise NotServed
    try:
        return Served(area, place, page_filters(svc, search))
    except FilterError as exc:
        raise NotServed(str(exc)) from None


def make_tick(svc: Services) -> Any:
    """The area page's tick: URL and shown version in, only the changed values out."""

    def drill_tick(_n: int, pathname: str | None, search: str | None, shown: Any, rows_shown: Any) -> list[Any]:
        # Registered with `running` disabling the interval while it runs: ticks never overlap.
        area, _place, f = served(svc, "drill-tick", pathname, search)
        now = datetime.now(UTC)
        d = page_parts(svc, area, f, current_identity().scope, now)
        values, version = DIFFER.diff(live_values(area, f, d, Filters(lang=f.lang).query()), shown)
        rv = rows_version(d, now)
        return [values[k] for k in OUTPUTS] + [version, no_update if rv == rows_shown else rv]

    return drill_tick


def make_appeal_tick(svc: Services) -> Any:
    """The appeal page's tick: its light, state, due time, review and timeline, only what changed."""

    def appeal_tick(_n: int, pathname: str | None, search: str | None, shown: Any) -> list[Any]:
        # Registered with `running` disabling the interval while it runs: ticks never overlap.
        area, place, f = served(svc, "drill-appeal-tick", pathname, search, appeal=True)
        d = appeal_data(svc, area.code or "", datetime.now(UTC))
        if d is None:
            raise PreventUpdate
        values, version = DIFFER.diff(appeal_values(d, LA.place_line(place.names), f.lang, svc.settings.zone), shown)
        return [values[k] for k in APPEAL_OUTPUTS] + [no_update if version == shown else version]

    return appeal_tick


def make_below_fold(svc: Services) -> Any:
    """The parts below the fold, read once the page is drawn (the page's first answer does not wait for them)."""

    def below_fold(_cue: Any, pathname: str | None, search: str | None) -> Any:
        area, _place, f = served(svc, "drill-below-fold", pathname, search)
        d = page_parts(svc, area, f, current_identity().scope, datetime.now(UTC))
        values = live_values(area, f, d, Filters(lang=f.lang).query())
        grids = [LG.grid(name, f.lang, LG.HEIGHTS[name]) for name in TABLES]
        return [values[k] for k in BELOW] + grids

    return below_fold


def _empty(why: str | None = None) -> dict[str, Any]:
    return {"rowData": [], "rowCount": 0, **({"why": why} if why else {})}


def make_rows(svc: Services, table: str) -> Any:
    """The getRows answer of one grid: a block of rows within the scope, the page's filters and the grid's own."""

    def rows(request: Any, pathname: str | None, search: str | None) -> dict[str, Any]:
        try:
            area, _place, f = served(svc, f"drill-rows-{table}", pathname, search)
            b = block_of(table, request)
        except (NotServed, RowsError) as exc:
            if str(exc):
                log.info("drill grid %s: refused %s", table, exc)
            return _empty(str(exc) or None)
        got = read_block(svc, table, area, f, b)
        if len(got) < b.end - b.start:  # a short block: the last row is known
            return {"rowData": got, "rowCount": b.start + len(got)}
        return {"rowData": got}

    rows.__name__ = f"rows_{table}"
    return rows


def read_block(svc: Services, table: str, area: Area, f: Filters, b: Block) -> list[dict[str, Any]]:
    """A block of a grid's rows as shown, for the signed-in scope."""
    scope = current_identity().scope
    now = datetime.now(UTC)
    refs = index_of(svc.city)
    q = Filters(lang=f.lang).query()
    with svc.reads() as s:
        if table == "members":
            return LG.member_rows(member_block(s, area, scope, now, svc.settings, b), f.lang, svc.settings.zone)
        got = appeal_block(s, table, area, f, scope, now, refs, b)
    if table == "red":
        return LG.red_rows(got, f.lang, q)
    return LG.appeal_rows(got, f.lang, q, svc.settings.zone)


def register(app: Dash, svc: Services) -> None:
    """Add the area page's tick and the grids' row callbacks."""
    app.callback(
        *[Output(cid, prop) for cid, prop in OUTPUTS.values()],
        Output(ids_drill.SHOWN, "data"),
        Output(ids_drill.ROWS_VERSION, "data"),
        Input(ids_drill.TICK, "n_intervals"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        State(ids_drill.SHOWN, "data"),
        State(ids_drill.ROWS_VERSION, "data"),
        running=[(Output(ids_drill.TICK, "disabled"), True, False)],
        prevent_initial_call=True,
    )(make_tick(svc))
    app.callback(
        *[Output(cid, prop) for cid, prop in APPEAL_OUTPUTS.values()],
        Output(ids_drill.APPEAL_SHOWN, "data"),
        Input(ids_drill.APPEAL_TICK, "n_intervals"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        State(ids_drill.APPEAL_SHOWN, "data"),
        running=[(Output(ids_drill.APPEAL_TICK, "disabled"), True, False)],
        prevent_initial_call=True,
    )(make_appeal_tick(svc))
    app.callback(
        *[Output(OUTPUTS[k][0], OUTPUTS[k][1], allow_duplicate=True) for k in BELOW],
        *[Output(ids_drill.grid_slot(name), "children") for name in TABLES],
        Input(ids_drill.BELOW_FOLD, "data"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call="initial_duplicate",
    )(make_below_fold(svc))
    for table in TABLES:
        app.callback(
            Output(ids_drill.grid(table), "getRowsResponse"),
            Input(ids_drill.grid(table), "getRowsRequest"),
            State(ids.LOCATION, "pathname"),
            State(ids.LOCATION, "search"),
            prevent_initial_call=True,
        )(make_rows(svc, table))
    # A new rows version: each grid on the page reads its cached blocks again (sort, filters, scroll kept).
    app.clientside_callback(
        """function (v) {
            if (!v || !window.dash_ag_grid) { return window.dash_clientside.no_update; }
            ["red", "appeals", "members"].forEach(function (name) {
                var id = "drill-grid-" + name;
                if (!document.getElementById(id)) { return; }
                window.dash_ag_grid.getApiAsync(id).then(function (api) { api.refreshInfiniteCache(); });
            });
            return window.dash_clientside.no_update;
        }""",
        Output(ids_drill.ROWS_VERSION, "clear_data"),
        Input(ids_drill.ROWS_VERSION, "data"),
        prevent_initial_call=True,
    )

"""The drill-down pages: `page_for` renders /area… pages for the shell's router; callbacks turn filters and
map clicks into URLs. Every entry point checks the signed-in scope on the server first."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from flask import g, request

from callbacks.auth import current_identity, refuse
from callbacks.wall_diff import Differ, fingerprint
from dashboard import ids, ids_cases, ids_drill
from dashboard.drill import (
    Area,
    FilterError,
    Filters,
    Place,
    allowed,
    breadcrumb,
    is_drill_path,
    parse_filters,
    parse_path,
)
from dashboard.i18n import lang_of, t
from dashboard.same_event import MAP_WINDOW
from dashboard.scopes import Scope
from dashboard.ttl_cache import TTLCache
from data_access.drill.page import appeal_page, area_categories, area_history, area_page, place_of
from data_access.ops.pools import pool
from data_access.ops.services import Services
from data_access.same_event.reads import group_of_appeal, group_points
from data_access.supervision.ledger import appeal_cases
from geo.city_index import CityIndex, index_of
from layouts import casework as LC
from layouts import drill as L
from layouts import drill_appeal as LA
from layouts import drill_grids as LG
from layouts import drill_live as LL
from layouts import events as LE

#: Same-event groups with an appeal this recent show on an area's map.


def _svc() -> Services:
    svc: Services = g.services  # set by the guard on every request
    return svc


def home_path(scope: Scope) -> str:
    """The page a scope lands on."""
    level, code = scope.home
    return Area(level, code).path


def checked_place(svc: Services, refs: CityIndex, area: Area | None, what: str, detail: str) -> Place | None:
    """The area's place if the signed-in scope may see it; otherwise None, logged and audited as refused."""
    scope = current_identity().scope
    place = None
    if area is not None:
        with svc.reads() as s:
            place = place_of(s, area, refs)
    if place is None or not allowed(scope, place):
        refuse(what, detail[:300])
        return None
    return place


def page_for(pathname: str | None, search: str | None) -> Any:
    """The drill-down page of a /area… path (None for other paths): for the shell's router."""
    if not is_drill_path(pathname):
        return None
    return render_area(pathname, search)


def page_filters(svc: Services, search: str | None) -> Filters:
    """The URL's filters, in the default language unless the URL names one; FilterError for a bad query."""
    f = parse_filters(search)
    if "lang=" not in (search or ""):
        f = Filters(**{**f.__dict__, "lang": svc.settings.default_lang})
    return f


def render_area(pathname: str | None, search: str | None) -> Any:
    """A whole drill-down page for the URL, within the signed-in scope (else nothing of the area)."""
    svc = _svc()
    ident = current_identity()
    refs = index_of(svc.city)
    try:
        f = page_filters(svc, search)
    except FilterError as exc:
        lang = lang_of(None, svc.settings.default_lang)
        return L.page(html_error_head(pathname), None, [], lang, t(lang, "drill_bad_filter", msg=str(exc)))
    area = parse_path(pathname)
    place = checked_place(svc, refs, area, "drill-page", f"{pathname}{search or ''}")
    if area is None or place is None:
        return L.unavailable(f.lang, home_path(ident.scope))
    now = datetime.now(UTC)
    crumbs = breadcrumb(place, ident.scope, refs.city_name, f.query())
    head = L.header(crumbs, ident.name, f, area.path)
    if area.level == "appeal":
        return _appeal(svc, refs, area, place, f, head, now)
    data = area_data(svc, area, f, ident.scope, now)
    data = {**data, "groups": LE.group_points(data["group_rows"], f.lang)}  # the cache is shared by both languages
    body = area_body(area, f, data, svc.settings.tile_url, svc.settings.zone)
    shown = DIFFER.diff(LL.live_values(area, f, data, Filters(lang=f.lang).query(), below=False), None)[1]
    live = LL.live_parts(svc.settings.refresh_ms, shown, rows_version(data, now))
    return L.page(head, L.filter_bar(f), [*body, *live], f.lang)


log = logging.getLogger(__name__)

_AREA_CACHE = TTLCache(256)
#: Versions are content hashes: one differ serves every app of the process (callbacks/wall_diff.py).
DIFFER = Differ()


def rows_version(d: dict[str, Any], now: datetime) -> str:
    """Changes when the grids' rows may have: an event folded, a light or a member's state changed, a minute on."""
    m = d["members"]
    return fingerprint([d["position"], d["lights"], [m["online"], m["busy"], m["sos"]], now.isoformat()[:16]])


#: Reads under way, by cache key: a caller asking for a part being read waits for that read instead of starting its
#: own (a page's first answer and the read its address started, several screens opening one view).
_READING: dict[tuple[Any, ...], Future[Any]] = {}
_READING_LOCK = threading.Lock()


def _cached(svc: Services, key: tuple[Any, ...], read: Any) -> Any:
    """A page part read at most once per refresh interval for the same key, and kept at least twice as long as it
    took to read: a slow read (a city page over a big store) is not repeated by every tick of every screen. While
    it is being read, others asking for it wait for that read."""
    hit = _AREA_CACHE.peek(key)
    clock = time.monotonic()
    if hit is not None and clock < hit[0]:
        return hit[1]
    with _READING_LOCK:
        under_way = _READING.get(key)
        if under_way is None:
            mine: Future[Any] = Future()
            _READING[key] = mine
    if under_way is not None:
        return under_way.result()
    try:
        value = read()
        keep = max(svc.settings.refresh_ms / 1000 * 0.9, 2 * (time.monotonic() - clock))
        _AREA_CACHE.put(key, (time.monotonic() + keep, value))
        mine.set_result(value)
        return value
    except BaseException as exc:
        mine.set_exception(exc)
        raise
    finally:
        with _READING_LOCK:
            _READING.pop(key, None)


def read_early(svc: Services, pathname: str, query: str, scope: Scope, pool: ThreadPoolExecutor) -> Future[Any] | None:
    """Start reading an area page's panels above the fold when its address is asked for: the browser then loads and
    starts its scripts (about a second on a busy 2-core machine) before it asks for the page's first answer, which
    finds the read done or under way (`_cached`). Only for a place the scope may see; nothing is sent from here, and
    the page's callback checks the scope again (and audits a refusal)."""
    area = parse_path(pathname)
    if area is None or area.level == "appeal":
        return None
    place = index_of(svc.city).place(area)
    if place is None or not allowed(scope, place):
        return None
    try:
        f = page_filters(svc, query)
    except FilterError:
        return None
    read = pool.submit(area_data, svc, area, f, scope, datetime.now(UTC))
    read.add_done_callback(_log_failure)
    return read


def _log_failure(read: Future[Any]) -> None:
    """An early read that failed leaves nothing behind (the page's callback reads again, and answers the error)."""
    exc = read.exception()
    if exc is not None:
        log.warning("drill: a page's early read failed: %s", str(exc).splitlines()[0][:200] if str(exc) else exc)


def area_data(svc: Services, area: Area, f: Filters, scope: Scope, now: datetime) -> dict[str, Any]:
    """An area page's panels above the fold, shared by the screens of the same store, area, filters and scope (a
    page opened and its first tick, or several screens on one view, share one read). Keyed by the scope: a leader's
    answer never serves another scope."""
    refs = index_of(svc.city)

    def read() -> dict[str, Any]:
        where = None if area.level == "city" else (area.level, area.code or "")
        with svc.reads() as s:
            page = area_page(s, area, f, scope, now, svc.settings, refs)
            groups = group_points(s, scope, now - MAP_WINDOW, where)
        return {**page, "group_rows": groups}

    return _cached(svc, ("page", svc.url, area, replace(f, lang="zh"), scope), read)  # type: ignore[no-any-return]


def history_data(svc: Services, area: Area, f: Filters, scope: Scope, now: datetime) -> dict[str, Any]:
    """The sub-areas' volumes and rates and the trend (below the fold, and the tick's), cached as `area_data` is;
    taken from `area_data` when its read had them already (a page coloured by a volume or rate, or filtered)."""
    above = area_data(svc, area, f, scope, now)
    if above["trend"] is not None:
        return {"subs": above["subs"], "trend": above["trend"]}
    refs = index_of(svc.city)

    def read() -> dict[str, Any]:
        with svc.reads() as s:
            return area_history(s, area, f, scope, now, svc.settings, refs)

    return _cached(svc, ("history", svc.url, area, replace(f, lang="zh"), scope), read)  # type: ignore[no-any-return]


def page_parts(svc: Services, area: Area, f: Filters, scope: Scope, now: datetime) -> dict[str, Any]:
    """Everything a page's tick and its parts below the fold show: above the fold, history, categories."""
    return {
        **area_data(svc, area, f, scope, now),
        **history_data(svc, area, f, scope, now),
        "categories": categories_data(svc, area, f, scope, now),
    }


def categories_data(svc: Services, area: Area, f: Filters, scope: Scope, now: datetime) -> list[dict[str, Any]]:
    """The page's top categories (below the fold), cached as `area_data` is."""
    refs = index_of(svc.city)

    def read() -> list[dict[str, Any]]:
        with svc.reads() as s:
            return area_categories(s, area, f, scope, now, refs)

    return _cached(svc, ("cats", svc.url, area, replace(f, lang="zh"), scope), read)  # type: ignore[no-any-return]


def html_error_head(pathname: str | None) -> Any:
    """The header of a page whose query was refused: only a way back to the same page without it."""
    return html.Div(
        dcc.Link("↩", href=(pathname or "/area"), refresh=False, className="drill-home"), className="drill-header"
    )


def area_body(area: Area, f: Filters, d: dict[str, Any], tile_url: str | None, zone: Any) -> list[Any]:
    """The panels of an area page from its data; the long lists are grids whose rows come a block at a time."""
    lang = f.lang
    lang_q = Filters(lang=f.lang).query()
    live = LL.live_values(area, f, d, lang_q, below=False)  # the rest is read once the page is drawn
    the_map = L.area_map(
        d["bounds"],
        tile_url,
        d["outline"],
        d["sub_layer"],
        live["hideout"],
        live["red-layer"],
        points_are_subs=area.child == "community",
        groups=d.get("groups"),
    )
    sub_title = t(lang, f"drill_sub_{area.child}") if area.child else t(lang, "drill_no_sub")
    return [
        html.Div(
            [
                L.panel(t(lang, "drill_map"), [the_map, L.legend(f.fig, live["hideout"]["max"], lang)], cls="map"),
                L.panel(
                    t(lang, "lights"),
                    [
                        html.Div(live["lights"], id=ids_drill.LIGHT_FIGS),
                        html.Div(live["members"], id=ids_drill.MEMBER_FIGS),
                    ],
                    cls="figs",
                ),
            ],
            className="drill-row top",
        ),
        L.panel(t(lang, "red_list"), LG.slot("red", lang), "red", area, f),
        html.Div(
            [
                L.panel(
                    f"{sub_title} · {t(lang, 'drill_rank_note')}",
                    html.Div(live["ranking"], id=ids_drill.RANKING),
                    "ranking",
                    area,
                    f,
                ),
                L.panel(
                    t(lang, "drill_trend", n=f.trend_days()),
                    html.Div(live["trend"], id=ids_drill.TREND),
                    "trend",
                    area,
                    f,
                ),
            ],
            className="drill-row",
        ),
        html.Div(
            [
                L.panel(
                    t(lang, "drill_top_cats"),
                    html.Div(live["categories"], id=ids_drill.CATEGORIES),
                    "categories",
                    area,
                    f,
                ),
                L.panel(t(lang, "drill_members_list"), LG.slot("members", lang), "members", area, f),
            ],
            className="drill-row",
        ),
        L.panel(
            html.Span(live["appeals-title"], id=ids_drill.APPEALS_TITLE),
            LG.slot("appeals", lang),
            "appeals",
            area,
            f,
        ),
    ]


def _appeal(svc: Services, refs: CityIndex, area: Area, place: Place, f: Filters, head: Any, now: datetime) -> Any:
    with svc.reads() as s:
        d = appeal_page(s, area.code or "", now, svc.settings, refs)
        group = group_of_appeal(s, area.code or "", current_identity().scope, svc.settings)
        cases = appeal_cases(s, area.code or "", now) if d is not None else []
    if d is None:
        return L.unavailable(f.lang, home_path(current_identity().scope))
    lang, zone = f.lang, svc.settings.zone
    live = LL.appeal_values(d, LA.place_line(place.names), lang, zone)
    title = f"{d['id']} · {' / '.join(d['category'])}"
    body = [
        html.H1(title, className="drill-title"),
        html.Div(
            [
                L.panel(t(lang, "drill_appeal"), html.Div(live["facts"], id=ids_drill.APPEAL_FACTS), cls="facts"),
                L.panel(t(lang, "drill_map"), LA.appeal_map(d, svc.settings.tile_url), cls="map"),
            ],
            className="drill-row top",
        ),
        L.panel(t(lang, "grp_panel"), LE.same_event(group, d["id"], lang, zone), cls="group"),
        L.panel(
            t(lang, "case_panel"),
            html.Div(LC.appeal_cases(cases, d["id"], lang, zone), id=ids_cases.APPEAL_CASES),
            cls="cases",
        ),
        L.panel(t(lang, "drill_review"), html.Div(live["review"], id=ids_drill.APPEAL_REVIEW)),
        L.panel(t(lang, "timeline"), html.Div(live["timeline"], id=ids_drill.APPEAL_TIMELINE), "timeline", area, f),
    ]
    shown = DIFFER.diff(live, None)[1]
    return L.page(head, None, [*body, *LL.appeal_live_parts(svc.settings.refresh_ms, shown)], lang)


def appeal_data(svc: Services, code: str, now: datetime) -> dict[str, Any] | None:
    """One appeal as its page shows it (the caller has checked the scope), read at most once per refresh interval
    for every screen showing it."""
    refs = index_of(svc.city)

    def read() -> dict[str, Any] | None:
        with svc.reads() as s:
            return appeal_page(s, code, now, svc.settings, refs)

    return _cached(svc, ("appeal", svc.url, code), read)  # type: ignore[no-any-return]


def register(app: Dash, svc: Services) -> None:
    """Add the drill-down pages' callbacks: filters into the URL, map clicks down a level; and the early read of a
    page's panels when its address is asked for (after the guard, which has set the signed-in identity)."""
    refs = index_of(svc.city)
    # Reads started when a page's address is asked for: two at most, the rest wait their turn; this app's own pool,
    # so no other app's reads (a process serving several) can hold up its pages
    early = pool(2, "drill-early")

    @app.server.before_request
    def early_read() -> None:
        ident = getattr(g, "identity", None)
        if request.method == "GET" and ident is not None and is_drill_path(request.path):
            query = request.query_string.decode("utf-8", "replace")
            read_early(svc, request.path, f"?{query}" if query else "", ident.scope, early)

    @app.callback(
        Output(ids.LOCATION, "search", allow_duplicate=True),
        Input({"type": ids_drill.FILTER_TYPE, "name": ALL}, "value"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def filters_to_url(values: list[Any], pathname: str | None, search: str | None) -> Any:
        area = parse_path(pathname)
        if checked_place(svc, refs, area, "drill-filters", f"{pathname}") is None:
            return no_update
        try:
            f = parse_filters(search)
        except FilterError:
            f = Filters(lang=lang_of(None, svc.settings.default_lang))
        names = [i["id"]["name"] for i in dash_ctx.inputs_list[0]]
        change = {n: (v if v not in ("", []) else None) for n, v in zip(names, values)}
        change = {n: v for n, v in change.items() if isinstance(v, (str, type(None)))}
        if "window" in change and change["window"] is None:
            change["window"] = "all"
        if "fig" in change and change["fig"] is None:
            change["fig"] = "open"
        new = f.query(**{k: v for k, v in change.items() if getattr(f, k) != v})
        try:
            parse_filters(new)
        except FilterError:
            return no_update
        return no_update if new == f.query() else new

    @app.callback(
        Output(ids.LOCATION, "pathname", allow_duplicate=True),
        Input(ids_drill.SUB_LAYER, "clickData"),
        State(ids.LOCATION, "pathname"),
        prevent_initial_call=True,
    )
    def map_down(feature: Any, pathname: str | None) -> Any:
        area = parse_path(pathname)
        if checked_place(svc, refs, area, "drill-map", f"{pathname}") is None or area is None:
            return no_update
        props = (feature or {}).get("properties") or {}
        code = props.get("code")
        if area.child is None or not isinstance(code, str):
            return no_update
        child = Area(area.child, code)
        if checked_place(svc, refs, child, "drill-map", f"{pathname} -> {code}") is None:
            return no_update
        return child.path

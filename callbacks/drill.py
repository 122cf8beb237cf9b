"""The drill-down pages: `page_for` renders /area… pages for the shell's router; callbacks turn filters and
map clicks into URLs. Every entry point checks the signed-in scope on the server first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from flask import g

from callbacks.auth import current_identity, refuse
from dashboard import ids, ids_cases, ids_drill
from dashboard.drill import (
    Area,
    FilterError,
    Filters,
    Place,
    allowed,
    breadcrumb,
    choropleth,
    is_drill_path,
    parse_filters,
    parse_path,
)
from dashboard.i18n import lang_of, t
from dashboard.scopes import Scope
from data_access.drill.page import appeal_page, area_page, place_of
from data_access.ops.services import Services
from data_access.same_event.reads import group_of_appeal, group_points
from data_access.supervision.ledger import appeal_cases
from geo.city_index import CityIndex, index_of
from layouts import casework as LC
from layouts import drill as L
from layouts import drill_appeal as LA
from layouts import drill_tables as LT
from layouts import events as LE

#: Same-event groups with an appeal this recent show on an area's map.
GROUP_MAP_WINDOW = timedelta(days=7)


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
        with svc.sessions() as s:
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


def render_area(pathname: str | None, search: str | None) -> Any:
    """A whole drill-down page for the URL, within the signed-in scope (else nothing of the area)."""
    svc = _svc()
    ident = current_identity()
    refs = index_of(svc.city)
    try:
        f = parse_filters(search)
    except FilterError as exc:
        lang = lang_of(None, svc.settings.default_lang)
        return L.page(html_error_head(pathname), None, [], lang, t(lang, "drill_bad_filter", msg=str(exc)))
    if "lang=" not in (search or ""):
        f = Filters(**{**f.__dict__, "lang": svc.settings.default_lang})
    area = parse_path(pathname)
    place = checked_place(svc, refs, area, "drill-page", f"{pathname}{search or ''}")
    if area is None or place is None:
        return L.unavailable(f.lang, home_path(ident.scope))
    now = datetime.now(UTC)
    crumbs = breadcrumb(place, ident.scope, refs.city_name, f.query())
    head = L.header(crumbs, ident.name, f, area.path)
    if area.level == "appeal":
        return _appeal(svc, refs, area, place, f, head, now)
    with svc.sessions() as s:
        data = area_page(s, area, f, ident.scope, now, svc.settings, refs)
        where = None if area.level == "city" else (area.level, area.code or "")
        groups = group_points(s, ident.scope, now - GROUP_MAP_WINDOW, where)
    data = {**data, "groups": LE.group_points(groups, f.lang)}
    return L.page(head, L.filter_bar(f), area_body(area, f, data, svc.settings.tile_url, svc.settings.zone), f.lang)


def html_error_head(pathname: str | None) -> Any:
    """The header of a page whose query was refused: only a way back to the same page without it."""
    return html.Div(
        dcc.Link("↩", href=(pathname or "/area"), refresh=False, className="drill-home"), className="drill-header"
    )


def area_body(area: Area, f: Filters, d: dict[str, Any], tile_url: str | None, zone: Any) -> list[Any]:
    """The panels of an area page from its data."""
    lang = f.lang
    lang_q = Filters(lang=f.lang).query()
    hide = choropleth(d["subs"], f.fig)
    child = area.child
    the_map = L.area_map(
        d["bounds"],
        tile_url,
        d["outline"],
        d["sub_layer"],
        hide,
        L.red_points(d["red"]),
        points_are_subs=child == "community",
        groups=d.get("groups"),
    )
    sub_title = t(lang, f"drill_sub_{child}") if child else t(lang, "drill_no_sub")
    ranking = LT.ranking(d["subs"], child, f) if child else LT._none(lang)
    return [
        html.Div(
            [
                L.panel(t(lang, "drill_map"), [the_map, L.legend(f.fig, hide["max"], lang)], cls="map"),
                L.panel(
                    t(lang, "lights"), [LT.lights(d["lights"], lang), LT.member_figs(d["members"], lang)], cls="figs"
                ),
            ],
            className="drill-row top",
        ),
        L.panel(t(lang, "red_list"), LT.red_table(d["red"], lang, lang_q), "red", area, f),
        html.Div(
            [
                L.panel(f"{sub_title} · {t(lang, 'drill_rank_note')}", ranking, "ranking", area, f),
                L.panel(t(lang, "drill_trend", n=f.trend_days()), LT.trend(d["trend"], lang), "trend", area, f),
            ],
            className="drill-row",
        ),
        html.Div(
            [
                L.panel(t(lang, "drill_top_cats"), LT.categories(d["categories"], lang), "categories", area, f),
                L.panel(
                    t(lang, "drill_members_list"),
                    LT.members_table(d["members"]["rows"], lang, zone),
                    "members",
                    area,
                    f,
                ),
            ],
            className="drill-row",
        ),
        L.panel(
            t(lang, "drill_appeals", n=len(d["appeals"])),
            LT.appeals_table(d["appeals"], lang, lang_q, zone),
            "appeals",
            area,
            f,
        ),
    ]


def _appeal(svc: Services, refs: CityIndex, area: Area, place: Place, f: Filters, head: Any, now: datetime) -> Any:
    with svc.sessions() as s:
        d = appeal_page(s, area.code or "", now, svc.settings, refs)
        group = group_of_appeal(s, area.code or "", current_identity().scope, svc.settings)
        cases = appeal_cases(s, area.code or "", now) if d is not None else []
    if d is None:
        return L.unavailable(f.lang, home_path(current_identity().scope))
    lang, zone = f.lang, svc.settings.zone
    where = " · ".join(
        place.names.get(lv, "") for lv in ("district", "street", "community", "grid") if place.names.get(lv)
    )
    title = f"{d['id']} · {' / '.join(d['category'])}"
    body = [
        html.H1(title, className="drill-title"),
        html.Div(
            [
                L.panel(t(lang, "drill_appeal"), LA.facts(d, where, lang, zone), cls="facts"),
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
        L.panel(t(lang, "drill_review"), LA.review(d, lang)),
        L.panel(t(lang, "timeline"), LA.timeline(d, lang, zone), "timeline", area, f),
    ]
    return L.page(head, None, body, lang)


def register(app: Dash, svc: Services) -> None:
    """Add the drill-down pages' callbacks: filters into the URL, map clicks down a level."""
    refs = index_of(svc.city)

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

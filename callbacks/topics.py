"""The topic pages (/topics, /topics/<id>), the form that defines a topic, and the wall's topic panel. Every
entry point reads the signed-in scope on the server: only command-center users define topics, and every figure
is cut to the scope (data_access/topics/monitor.py, data_access/problems/analysis.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, html, no_update
from sqlalchemy.exc import SQLAlchemyError

from callbacks.auth import current_identity, refuse
from dashboard import ids
from dashboard import ids_topics as tid
from dashboard.i18n import lang_of, t
from dashboard.scopes import COMMAND_CENTER
from dashboard.topics import TopicError, validate
from dashboard.wall import View
from data_access.ops.services import Services
from data_access.problems import analysis
from data_access.store.models import Topic
from data_access.topics import monitor
from data_access.topics.scope import visible_topic
from data_access.topics.tagging import define
from data_access.wall.scope import view_allowed
from data_access.wall.snapshot import WallContext
from layouts import topics as L

PATH = re.compile(r"^/topics(?:/(\d{1,9}))?/?$")


def _lang(svc: Services, search: str | None) -> str:
    q = parse_qs((search or "").lstrip("?"))
    return lang_of((q.get("lang") or [""])[0], svc.settings.default_lang)


def page_for(svc: Services, ctx: WallContext, pathname: str | None, search: str | None) -> Any:
    """The topic page of a /topics… path (None for other paths): for the shell's router."""
    m = PATH.match(pathname or "")
    if m is None:
        return None
    lang = _lang(svc, search)
    try:
        return topic_page(svc, ctx, int(m.group(1)), lang) if m.group(1) else list_page(svc, ctx, lang)
    except SQLAlchemyError:
        return L.page(
            _head(lang, pathname or "/topics", []),
            [html.Div(t(lang, "store_down_never"), className="drill-error")],
            lang,
        )


def _head(lang: str, path: str, crumbs: list[Any]) -> html.Div:
    return L.header(lang, current_identity().name, path, crumbs)


def _choices(svc: Services, ctx: WallContext) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    refs = ctx.refs

    def compute() -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
        with svc.reads() as s:
            cats = sorted(monitor.known_categories(s))
        areas = [(c, n) for c, n in sorted(refs.district_name.items())]
        areas += [
            (c, f"{refs.district_name.get(refs.street_district.get(c, ''), '')} {n}")
            for c, n in sorted(refs.street_name.items())
        ]
        units = sorted(refs.unit_name.items(), key=lambda u: (refs.unit_kind.get(u[0]) != "department", u[1]))
        return cats, areas, units

    return ctx.cache.get(("topic-choices",), svc.settings.slow_panel_s, compute)


def list_page(svc: Services, ctx: WallContext, lang: str) -> html.Div:
    """Every topic, the form (command center), candidates, high-frequency problems and hotspot clusters."""
    ident = current_identity()
    scope = ident.scope
    now = datetime.now(UTC)
    zone = svc.settings.zone
    with svc.reads() as s:
        rows = [r for r in (visible_topic(r, scope, ctx.refs) for r in monitor.overview(s, scope, now, ctx)) if r]
        body: list[Any] = [L.panel(t(lang, "topics_list"), L.topic_list(rows, lang), "topics-list-panel")]
        if scope.role == COMMAND_CENTER and ident.kind == "user":
            cats, areas, units = _choices(svc, ctx)
            body.append(
                L.panel(t(lang, "topic_new"), L.form(lang, cats, areas, units, now.astimezone(zone).date().isoformat()))
            )
        if analysis.allowed(scope):
            found = analysis.restrict(
                {
                    "problems": analysis.problem_rows(s, now, ctx, "cat3", "street"),
                    "candidates": analysis.candidate_rows(s, now, ctx),
                    "hotspots": analysis.scan_hotspots(s, now, ctx),
                },
                scope,
                ctx,
            )
            if found["candidates"] is not None:
                body.append(L.panel(t(lang, "cand_title"), L.candidates(found["candidates"], lang)))
            body.append(L.panel(t(lang, "scan_title", d=svc.settings.scan_days), L.hotspots(found["hotspots"], lang)))
            body.append(L.panel(t(lang, "problems_title"), L.problems(found["problems"], lang)))
    crumbs = [html.Span("›", className="sep"), html.Span(t(lang, "topics_title"), className="crumb here")]
    return L.page(_head(lang, "/topics", crumbs), body, lang)


def topic_page(svc: Services, ctx: WallContext, topic_id: int, lang: str) -> html.Div:
    """One topic's monitoring within the scope; the same answer for an unknown topic and one outside it."""
    scope = current_identity().scope
    with svc.reads() as s:
        row = s.get(Topic, topic_id)
        body = None if row is None else monitor.detail(s, row, scope, datetime.now(UTC), ctx)
    shown = None if body is None else visible_topic(body, scope, ctx.refs)
    back = [
        html.Span("›", className="sep"),
        html.A(t(lang, "topic_back"), href=f"/topics?lang={lang}", className="crumb"),
    ]
    if shown is None:
        if body is not None:
            refuse("topic", f"topic page {topic_id} outside {scope.describe()}")
        return L.page(
            _head(lang, f"/topics/{topic_id}", back),
            [html.Div(t(lang, "topic_unknown"), className="drill-error")],
            lang,
        )
    refs = ctx.refs
    points = [
        (refs.community_name.get(c, c), *refs.community_lonlat[c], n)
        for c, n in sorted(shown["communities"].items(), key=lambda kv: -kv[1])[:300]
        if c in refs.community_lonlat
    ]
    districts = refs.sub_layer(_city(), [d for d in sorted(refs.district_name) if scope.covers(d)])
    crumbs = [*back, html.Span("›", className="sep"), html.Span(shown["name"], className="crumb here")]
    parts = [
        html.Div(
            t(lang, "topic_cats_line", c="、".join(shown["categories"]), u=shown["lead_unit_name"], d=shown["start"]),
            className="topic-line",
        ),
        L.figures(shown, lang),
        L.panel(t(lang, "topic_series"), L.series_chart(shown, lang)),
        L.panel(t(lang, "topic_rates"), L.rates(shown, lang)),
        L.panel(t(lang, "topic_map"), L.topic_map(refs.area_bounds(_city()), districts, points, svc.settings.tile_url)),
        L.panel(t(lang, "topic_worst"), L.worst(shown["worst_streets"], lang)),
    ]
    return L.page(_head(lang, f"/topics/{topic_id}", crumbs), parts, lang)


def _city() -> Any:
    from dashboard.drill import Area

    return Area()


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the form's callback and the wall panel's."""

    @app.callback(
        Output(tid.FORM_MESSAGE, "children"),
        Output(tid.FORM_MESSAGE, "className"),
        Input(tid.FORM_SUBMIT, "n_clicks"),
        State(tid.FORM_NAME, "value"),
        State(tid.FORM_CATS, "value"),
        State(tid.FORM_AREAS, "value"),
        State(tid.FORM_KEYWORDS, "value"),
        State(tid.FORM_LEAD, "value"),
        State(tid.FORM_START, "value"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def define_topic(
        clicks: int | None, name: Any, cats: Any, areas: Any, words: Any, lead: Any, start: Any, search: str | None
    ) -> tuple[str, str]:
        lang = _lang(svc, search)
        ident = current_identity()
        if ident.scope.role != COMMAND_CENTER or ident.kind != "user":
            refuse("topic-define", f"define topic by {ident.scope.describe()}")
            return t(lang, "topic_only_cc"), "topic-message bad"
        if not clicks:
            return no_update, no_update  # type: ignore[return-value]
        cat_list, area_list, unit_list = _choices(svc, ctx)
        today = datetime.now(UTC).astimezone(svc.settings.zone).date()
        form = {"name": name, "categories": cats, "areas": areas, "keywords": words, "lead_unit": lead, "start": start}
        try:
            spec = validate(
                form,
                cat_list,
                [c for c, _ in area_list] + list(ctx.refs.community_name),
                [u for u, _ in unit_list],
                today,
            )
        except TopicError as err:
            return t(lang, err.key, **err.fmt), "topic-message bad"
        try:
            with svc.sessions() as s, s.begin():
                topic = define(s, spec, ident.name)
                n = monitor.tagged(s, topic)
        except SQLAlchemyError:
            return t(lang, "topic_store_down"), "topic-message bad"
        return t(lang, "topic_defined", name=spec.name, n=n), "topic-message good"

    @app.callback(
        Output(tid.WALL_PANEL, "children"),
        Input(tid.WALL_TICK, "n_intervals"),
        State(ids.LOCATION, "search"),
    )
    def wall_topics(_n: int, search: str | None) -> Any:
        lang = _lang(svc, search)
        scope = current_identity().scope
        text = (parse_qs((search or "").lstrip("?")).get("view") or [""])[0]
        if text and not view_allowed(scope, View.parse(text), ctx.refs):  # the wall of a view outside the scope
            refuse("wall-topics", f"view {text[:40]} outside {scope.describe()}")
            return []

        def compute() -> list[dict[str, Any]]:
            with svc.reads() as s:
                rows = monitor.overview(s, scope, datetime.now(UTC), ctx)
            return [r for r in (visible_topic(r, scope, ctx.refs) for r in rows) if r]

        try:
            rows = ctx.cache.get(("topics-overview", scope.describe()), svc.settings.slow_panel_s, compute)
        except SQLAlchemyError:
            return no_update
        return L.wall_panel(rows, lang)

"""The wall map's same-event groups: one marker per group with its count, as the drill map draws them, for the
view the URL asks for, within the signed-in scope; refreshed every minute, computed once per view, scope and
language a minute (the groups are read from the store, layouts/events.py builds the markers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, no_update
from sqlalchemy.exc import SQLAlchemyError

from callbacks.auth import current_identity, refuse
from dashboard import ids
from dashboard.i18n import lang_of
from dashboard.same_event import MAP_WINDOW
from dashboard.wall import View
from data_access.ops.services import Services
from data_access.same_event.reads import group_points
from data_access.wall.scope import home_view, view_allowed
from data_access.wall.snapshot import WallContext
from layouts import events as LE

EMPTY: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def group_layer(svc: Services, ctx: WallContext, search: str | None) -> Any:
    """The markers of the view the URL's query asks for (the city by default, the scope's home when the scope
    does not cover the city), within the signed-in scope; a view outside it gets none, and is audited."""
    query = parse_qs((search or "").lstrip("?"))
    lang = lang_of((query.get("lang") or [""])[0], svc.settings.default_lang)
    scope = current_identity().scope
    text = (query.get("view") or [""])[0]
    view = View.parse(text) if text else View()
    if not ctx.refs.knows(view):
        view = View()
    if not view_allowed(scope, view, ctx.refs):
        if text:  # an explicit view outside the scope: say so in the audit log
            refuse("wall-groups", f"view {text[:40]} outside {scope.describe()}")
            return EMPTY
        home = home_view(scope)
        if home is None:
            return EMPTY
        view = home
    area = None if view.level == "city" else (view.level, view.code or "")

    def compute() -> dict[str, Any]:
        # Across a room only the events many people call about: groups of at least BURST_APPEALS (the 三天三单
        # count); pairs, common on a city's background, would bury the map's hotspots (the drill map shows them).
        with svc.reads() as s:
            rows = group_points(s, scope, datetime.now(UTC) - MAP_WINDOW, area, svc.settings.burst_appeals)
        return LE.group_points(rows, lang)

    try:
        return ctx.cache.get(("wall-groups", view.key, scope.describe(), lang), svc.settings.slow_panel_s, compute)
    except SQLAlchemyError:
        return no_update


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the wall's group markers to the app."""

    @app.callback(
        Output(ids.GROUP_LAYER, "data"),
        Input(ids.GROUP_TICK, "n_intervals"),
        State(ids.LOCATION, "search"),
    )
    def wall_groups(_n: int, search: str | None) -> Any:
        return group_layer(svc, ctx, search)

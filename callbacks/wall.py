"""The wall screen: its page for a URL (callbacks/router.py), the live tick, the tour's map moves, the view picker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from dash import ClientsideFunction, Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from flask import Response, request
from plotly.io.json import to_json_plotly

from callbacks.api_layers import COMMUNITIES_URL
from callbacks.auth import current_identity, refuse
from callbacks.wall_diff import Differ, Prepared, plain_json
from dashboard import ids
from dashboard.i18n import t
from dashboard.scopes import COMMAND_CENTER, Scope
from dashboard.ttl_cache import TickMemo
from dashboard.wall import View, WallState, tour_stop
from data_access.ops.services import Services
from data_access.ops.warm import start_warm
from data_access.view_share.snapshots import SharedSnapshots, tick_start, tick_version
from data_access.wall import snapshot as screen
from data_access.wall.scope import (
    home_view,
    restrict_snapshot,
    view_allowed,
)
from data_access.wall.snapshot import WallContext
from geo.city_index import CityIndex, index_of
from layouts.tick import render
from layouts.wall import PageStatic, wall_page

log = logging.getLogger(__name__)

#: The tick's route (under the guard's data prefixes: an anonymous request gets 401, not a page).
TICK_URL = "/_wall-tick"
#: Output keys of the tick, in callback order (see layouts/tick.py for what each holds).
TICK_KEYS = (
    [f"fig:{n}" for n in ids.FIGURES]
    + [f"list:{n}" for n in ids.LISTS]
    + ["sos-class", "banner", "banner-class", "body-class", "pts", "red-layer"]
)


def context(svc: Services) -> WallContext:
    """The screens' shared context of one app: settings, reference lookups, caches, snapshots shared by workers."""
    s = svc.settings
    shared = None
    if s.shared_snapshots:
        client = redis.Redis.from_url(svc.redis_url, socket_connect_timeout=0.5, socket_timeout=2)
        shared = SharedSnapshots(client, s.stream("screens"), s.refresh_ms)
    return WallContext(s, index_of(svc.city), redis_ok=redis_pinger(svc.redis_url), shared=shared)


def redis_pinger(url: str) -> Any:
    """A health check of Redis with short timeouts (the tick must not hang on a dead Redis)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    def ping() -> bool:
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    return ping


def _outputs() -> list[Output]:
    outs = [Output(ids.metric(k.split(":", 1)[1]), "children") for k in TICK_KEYS if k.startswith(("fig:", "list:"))]
    return outs + [
        Output(ids.metric("sos-alert"), "className"),
        Output(ids.BANNER, "children"),
        Output(ids.BANNER, "className"),
        Output(ids.BODY, "className"),
        Output(ids.COMMUNITY_LAYER, "hideout"),
        Output(ids.RED_LAYER, "data"),
    ]


def _state(svc: Services, pathname: str | None, search: str | None) -> WallState:
    s = svc.settings
    return WallState.from_url(pathname, search, s.default_lang, s.tour_seconds)


def page_static(ctx: WallContext, state: WallState, view: View, scope: Scope = Scope(COMMAND_CENTER)) -> PageStatic:
    """The fixed parts of a page for a view; the view picker offers only views inside the scope."""
    refs, s = ctx.refs, ctx.settings
    options = [{"label": f"{t(state.lang, 'city_view')} · {refs.city_name}", "value": "city"}]
    options += [
        {"label": f"{t(state.lang, 'district')} · {n}", "value": f"d:{c}"} for c, n in refs.district_name.items()
    ]
    options += [
        {"label": f"{t(state.lang, 'street')} · {refs.view_name(View('street', c))}", "value": f"s:{c}"}
        for c in refs.street_name
    ]
    options = [o for o in options if view_allowed(scope, View.parse(o["value"]), refs)]
    return PageStatic(
        city_name=refs.city_name,
        refresh_ms=s.refresh_ms,
        tile_url=s.tile_url,
        bounds=refs.area_bounds(view),
        view_label=_label(refs, view, state.lang),
        view_options=options,
        turning_red_h=s.turning_red_h,
        districts_url="/api/v1/districts",
        streets_url="/api/v1/streets",
        communities_url=COMMUNITIES_URL,
        selected=view.code,
    )


def _label(refs: CityIndex, view: View, lang: str) -> str:
    return t(lang, "city_view") if view.level == "city" else refs.view_name(view)


def _view_for(scope: Scope, state: WallState, refs: CityIndex) -> View | None:
    """The view a request may see: the URL's if inside the scope, else the scope's home (refusal logged)."""
    view = state.view if refs.knows(state.view) else View()
    if view_allowed(scope, view, refs):
        return view
    home = home_view(scope)
    if state.view != View():  # an explicit area outside the scope: say so in the audit log
        refuse("wall-view", f"view {state.view.key} outside {scope.describe()}")
    return home


def page_for(svc: Services, ctx: WallContext, pathname: str | None, search: str | None) -> Any:
    """The wall page of a URL within the signed-in scope; None for a scope that has no wall view (grid supervisors)."""
    scope = current_identity().scope
    state = _state(svc, pathname, search)
    view = _view_for(scope, state, ctx.refs)
    if view is None:
        return None
    return wall_page(state, page_static(ctx, state, view, scope))


class WallTick:
    """The live tick: URL state and the browser's shown version in, only the changed outputs out.

    What a tick shows is the same for every viewer of one view, scope cut and language in one tick: it is cut,
    rendered and fingerprinted once (with shared snapshots `now` is the tick's start, so the clock and the status
    agree among them); each viewer then gets only what differs from the version it shows, and the route's answer
    for one shown version is written once per tick (`answer`): viewers of a view mostly show the same version."""

    def __init__(
        self, svc: Services, ctx: WallContext, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.svc, self.ctx, self.clock = svc, ctx, clock
        self.differ = Differ()
        self.rendered = TickMemo()
        self.answers = TickMemo()

    def __call__(
        self, _n: int, pathname: str | None, search: str | None, shown: Any, view_key: str | None
    ) -> list[Any]:
        """The outputs (no_update where unchanged), the version shown after them and the view (no_update if same)."""
        prepared, view, _ = self._prepared(pathname, search, view_key)
        return self._values(prepared, view, shown, view_key)

    def _values(self, prepared: Prepared, view: View, shown: Any, view_key: str | None) -> list[Any]:
        values, version = self.differ.against(prepared, shown)
        return [values[k] for k in TICK_KEYS] + [version, no_update if view.key == view_key else view.key]

    def answer(self, pathname: str | None, search: str | None, shown: Any, view_key: str | None) -> bytes:
        """The tick as the route answers it (`tick_answer`), written once per tick for each version shown."""
        prepared, view, tick = self._prepared(pathname, search, view_key)
        write = lambda: tick_answer(self._values(prepared, view, shown, view_key))  # noqa: E731
        if tick is None:
            return write()
        was = shown.get("v") if isinstance(shown, dict) else None
        return self.answers.get(
            (prepared.version, was if isinstance(was, str) else None, view.key, view.key == view_key), tick, write
        )

    def _prepared(
        self, pathname: str | None, search: str | None, view_key: str | None
    ) -> tuple[Prepared, View, int | None]:
        """This tick's prepared values of the caller's view and cut, the view and the tick's number (None: not
        shared)."""
        svc, ctx = self.svc, self.ctx
        scope = current_identity().scope
        state = _state(svc, pathname, search)
        now = self.clock()
        if ctx.shared is not None:
            now = tick_start(now, ctx.shared.period_ms)
        if view_key and not view_allowed(scope, View.parse(view_key), ctx.refs):
            refuse("wall-view", f"shown view {view_key} outside {scope.describe()}")  # forged: log, then ignore
        view = _view_for(scope, state, ctx.refs)
        if view is None:
            raise PreventUpdate
        if state.tour_s:
            stops = [v for v in screen.tour_now(svc.reads, now, ctx) if view_allowed(scope, v, ctx.refs)]
            view = tour_stop(stops or [view], now.timestamp(), state.tour_s)
        result = screen.take_snapshot(svc.reads, ctx.redis_ok, now, view, ctx)
        cut = None if scope.role == COMMAND_CENTER else scope
        key = (view.key, cut, state.lang, tuple(result["status"].items()), id(result["data"]))

        def prepare() -> Prepared:
            mine = {**result, "data": restrict_snapshot(result["data"], scope, ctx.refs)}
            return self.differ.prepare(render(mine, svc.settings.zone, state.lang))

        if ctx.shared is None:
            return prepare(), view, None
        tick = tick_version(now, ctx.shared.period_ms)
        return self.rendered.get(key, tick, prepare), view, tick


def make_tick(svc: Services, ctx: WallContext, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> WallTick:
    """The live tick of the wall (`WallTick`)."""
    return WallTick(svc, ctx, clock)


def tick_answer(values: list[Any]) -> bytes:
    """A tick's outputs as the wall's tick route answers them: {"set": {index: value}}, outputs not to update left
    out (a `dash.Patch` as the operations Dash's renderer applies)."""
    changed = {str(i): v for i, v in enumerate(values) if v is not no_update}
    try:
        return orjson.dumps({"set": changed}, default=plain_json)
    except TypeError:
        return str(to_json_plotly({"set": changed})).encode()


def _tick_route(tick: WallTick) -> Response:
    """POST {pathname, search, shown, view} (what the page holds): the changed outputs, 204 when none."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return Response('{"error": "a JSON object is expected"}', status=400, mimetype="application/json")
    text = lambda k: v if isinstance(v := body.get(k), str) else None  # noqa: E731
    try:
        answer = tick.answer(text("pathname"), text("search"), body.get("shown"), text("view"))
    except PreventUpdate:
        return Response(status=204)
    return Response(answer, mimetype="application/json")


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the wall's callbacks to the app."""
    # The screens' history aggregates take seconds on a big store: build them now (the one warm-up), not in the
    # first tick.
    start_warm(svc.reads, ctx)

    @app.callback(
        Output(ids.LOCATION, "search"),
        Input(ids.VIEW_PICK, "value"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def pick(value: str | None, pathname: str | None, search: str | None) -> Any:
        state = _state(svc, pathname, search)
        view = View.parse(value)
        scope = current_identity().scope
        if not view_allowed(scope, view, ctx.refs):
            refuse("wall-view", f"picked {view.key} outside {scope.describe()}")
            return no_update
        return no_update if view == state.view else state.query(view=view)

    @app.callback(
        Output(ids.MAP, "viewport"),
        Output(ids.DISTRICT_LAYER, "hideout"),
        Output(ids.STREET_LAYER, "hideout"),
        Output(ids.VIEW_LABEL, "children"),
        Input(ids.VIEW, "data"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def show_view(key: str | None, pathname: str | None, search: str | None) -> Any:
        # Fires only when the view itself changes (a tour stop), never on an ordinary tick.
        state = _state(svc, pathname, search)
        view = View.parse(key)
        scope = current_identity().scope
        if not view_allowed(scope, view, ctx.refs):
            refuse("wall-view", f"view {view.key} outside {scope.describe()}")
            raise PreventUpdate
        bounds = ctx.refs.area_bounds(view)
        sel = {"sel": view.code}
        return {"bounds": bounds, "transition": "flyToBounds"}, sel, sel, _label(ctx.refs, view, state.lang)

    # The tick is the page's hottest request (every screen, every second): a plain route answering the changed
    # outputs as JSON (`tick_answer`), asked for by a clientside callback (assets/wall_tick.js) that never
    # overlaps itself. Dash's own callback dispatch and JSON cleaning cost more than the tick's work.
    tick = make_tick(svc, ctx)
    app.clientside_callback(
        ClientsideFunction("wall", "tick"),
        *_outputs(),
        Output(ids.SHOWN, "data"),
        Output(ids.VIEW, "data"),
        Input(ids.TICK, "n_intervals"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        State(ids.SHOWN, "data"),
        State(ids.VIEW, "data"),
    )
    if TICK_URL not in {r.rule for r in app.server.url_map.iter_rules()}:

        def wall_tick() -> Response:
            return _tick_route(tick)

        app.server.add_url_rule(TICK_URL, "wall_tick", wall_tick, methods=["POST"])

    # Connection watchdog: if the screen stops receiving ticks, a JS timer (assets/wall_watch.js) greys it.
    app.clientside_callback(
        "function(shown) { window.wallLastTick = Date.now(); window.wallTicks = (window.wallTicks || 0) + 1;"
        " return window.dash_clientside.no_update; }",
        Output(ids.WATCHDOG, "title"),
        Input(ids.SHOWN, "data"),
        prevent_initial_call=True,  # only a tick's answer counts (the watchdog allows more time for the first)
    )

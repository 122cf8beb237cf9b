"""The map's detail drawer: click a community point for its open appeals, click an appeal for its timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import ALL, Dash, Input, Output, State, no_update
from dash import ctx as dash_ctx
from sqlalchemy.exc import SQLAlchemyError

from callbacks.auth import current_identity, refuse
from dashboard import ids
from dashboard.wall import WallState
from data_access.drill.appeal import appeal_detail
from data_access.ops.services import Services
from data_access.wall.snapshot import WallContext, community_detail
from layouts import detail


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the drawer's callback."""
    s = svc.settings

    @app.callback(
        Output(ids.DETAIL_BODY, "children"),
        Output(ids.DETAIL, "className"),
        Input(ids.COMMUNITY_LAYER, "clickData"),
        Input({"type": ids.APPEAL_ROW_TYPE, "appeal": ALL}, "n_clicks"),
        Input(ids.DETAIL_CLOSE, "n_clicks"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def drawer(feature: Any, _rows: Any, _close: Any, pathname: str | None, search: str | None) -> Any:
        scope = current_identity().scope
        lang = WallState.from_url(pathname, search, s.default_lang, s.tour_seconds).lang
        trig = dash_ctx.triggered_id
        value = dash_ctx.triggered[0]["value"] if dash_ctx.triggered else None
        if trig == ids.DETAIL_CLOSE:
            return no_update if not value else ([], "detail")
        now = datetime.now(UTC)
        try:
            if trig == ids.COMMUNITY_LAYER:
                props = (feature or {}).get("properties") or {}
                code = props.get("id")
                if props.get("cluster") or not isinstance(code, str) or code not in ctx.refs.community_name:
                    return no_update, no_update
                if not scope.covers(ctx.refs.community_district.get(code), ctx.refs.community_street.get(code)):
                    refuse("community", f"community {code} outside {scope.describe()}")
                    return no_update, no_update
                with svc.reads() as session:
                    rows = community_detail(session, code, now, ctx)
                return detail.community(ctx.refs.community_name[code], rows, lang), "detail on"
            if isinstance(trig, dict) and trig.get("type") == ids.APPEAL_ROW_TYPE and value:
                with svc.reads() as session:
                    body = appeal_detail(session, str(trig.get("appeal")), now, s)
                if body is None:
                    return no_update, no_update
                if not scope.covers(body["district"], body["street"], body["grid"]):
                    refuse("appeal", f"appeal {body['id']} outside {scope.describe()}")
                    return no_update, no_update
                return detail.timeline(body, ctx.refs.unit_name, lang), "detail on"
        except SQLAlchemyError:
            return no_update, no_update
        return no_update, no_update

"""The wall's figures in the read API, computed by the same functions as the screen (data_access/wall/snapshot.py).

GET /api/v1/summary | alerts | members | hotspots   ?view=city|d:CODE|s:CODE
GET /api/v1/rankings?level=street|district|department&month=YYYY-MM[&view=...]
Each answer carries `time`, `view` and `status` (redis, store, stale, fresh) like the screen's banner.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dash import Dash
from flask import Response, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_no_store as _json
from dashboard.rankings import LEVELS
from dashboard.wall import View
from data_access.intake.event_log import last_received
from data_access.ops.services import Services
from data_access.wall import snapshot as screen
from data_access.wall.scope import home_view, restrict_rankings, view_allowed
from data_access.wall.snapshot import WallContext

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the five figure routes to the app's server."""
    server = app.server

    def answer(key: str, compute: Callable[[Session, datetime, View], Any]) -> Response:
        scope = current_identity().scope
        text = request.args.get("view")
        view = View.parse(text)
        if text and (view.key != text or not ctx.refs.knows(view)):
            return _json({"error": f"unknown view {text!r}: use city, d:DISTRICT or s:STREET"}, 400)
        if not text:
            view = home_view(scope) or View()
        if not view_allowed(scope, view, ctx.refs):
            refuse("api-view", f"{key} view {view.key} outside {scope.describe()}")
            return _json({"error": "outside your scope"}, 403)
        now = datetime.now(UTC)
        try:
            with svc.reads() as session:
                body = compute(session, now, view)
                if key == "rankings":
                    body = restrict_rankings(body, scope, ctx.refs)
                last = last_received(session)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        except SQLAlchemyError as exc:
            return _json({"error": "store unavailable", "detail": str(exc).splitlines()[0][:200]}, 503)
        age = None if last is None else (now - last).total_seconds()
        stale = age is None or age > ctx.settings.feed_stale_s
        rds = ctx.redis_ok()
        status = {
            "redis": rds,
            "store": True,
            "stale": stale,
            "fresh": rds and not stale,
            "last_event": last.isoformat() if last else None,
        }
        return _json({"time": now.isoformat(), "view": view.key, "status": status, key: body})

    def figure_route(name: str) -> None:
        compute = getattr(screen, name)  # screen.summary, .alerts, .members, .hotspots: (session, now, view, ctx)
        server.add_url_rule(
            f"/api/v1/{name}",
            endpoint=f"screen_{name}",
            methods=["GET"],
            view_func=lambda: answer(name, lambda s, now, v: compute(s, now, v, ctx)),
        )

    for name in ("summary", "alerts", "members", "hotspots"):
        figure_route(name)

    @server.get("/api/v1/rankings", endpoint="screen_rankings")
    def rankings() -> Response:
        level = request.args.get("level", "street")
        month = request.args.get("month") or None
        if level not in LEVELS:
            return _json({"error": f"level must be one of {', '.join(LEVELS)}"}, 400)
        if month is not None and not MONTH.match(month):
            return _json({"error": "month must be YYYY-MM"}, 400)
        resp = answer("rankings", lambda s, now, v: screen.rankings(s, now, ctx, level, month, v))
        body = resp.get_json()
        if resp.status_code != 200 or not body["rankings"]["stale"]:
            return resp
        # Rankings that miss events are not fresh, however live the feed (they say since when they are behind)
        body["status"] = {**body["status"], "fresh": False, "rankings_stale_since": body["rankings"]["stale_since"]}
        return _json(body)

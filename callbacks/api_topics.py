"""The read API of topics and high-frequency problems, within the signed-in scope.

GET /api/v1/topics                 every topic visible to the scope, with its last two half-months
GET /api/v1/topics/<id>            one topic's monitoring (dashboard/topics.py)
GET /api/v1/problems?cat=cat1|cat2|cat3&area=district|street|community
                                   high-frequency problems, 每月一题 candidates (command center only) and
                                   space-time hotspots (dashboard/problems.py, dashboard/scan.py)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import Dash
from flask import Response, request
from sqlalchemy.exc import SQLAlchemyError

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_no_store as _json
from dashboard.problems import AREA_LEVELS, CAT_LEVELS
from data_access.ops.services import Services
from data_access.problems import analysis
from data_access.store.models import Topic
from data_access.topics import monitor
from data_access.topics.scope import visible_topic
from data_access.wall.snapshot import WallContext


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the topic and problem routes to the app's server."""
    server = app.server

    @server.get("/api/v1/topics", endpoint="api_topics")
    def topics() -> Response:
        scope = current_identity().scope
        try:
            with svc.reads() as s:
                rows = monitor.overview(s, scope, datetime.now(UTC), ctx)
        except SQLAlchemyError:
            return _json({"error": "store unavailable"}, 503)
        return _json({"topics": [r for r in (visible_topic(r, scope, ctx.refs) for r in rows) if r is not None]})

    @server.get("/api/v1/topics/<topic_id>", endpoint="api_topic")
    def topic(topic_id: str) -> Response:
        scope = current_identity().scope
        if not topic_id.isdigit() or len(topic_id) > 9:
            return _json({"error": f"no topic {topic_id[:40]!r}"}, 404)
        try:
            with svc.reads() as s:
                row = s.get(Topic, int(topic_id))
                body = None if row is None else monitor.detail(s, row, scope, datetime.now(UTC), ctx)
        except SQLAlchemyError:
            return _json({"error": "store unavailable"}, 503)
        shown = None if body is None else visible_topic(body, scope, ctx.refs)
        if body is not None and shown is None:
            refuse("topic", f"topic {topic_id} outside {scope.describe()}")
        return _json(shown) if shown else _json({"error": f"no topic {topic_id!r}"}, 404)

    @server.get("/api/v1/problems", endpoint="api_problems")
    def problems() -> Response:
        scope = current_identity().scope
        if not analysis.allowed(scope):
            refuse("problems", f"problems for {scope.describe()}")
            return _json({"error": "outside your scope"}, 403)
        cat = request.args.get("cat", "cat3")
        area = request.args.get("area", "street")
        if cat not in CAT_LEVELS or area not in AREA_LEVELS:
            return _json(
                {"error": f"cat must be one of {', '.join(CAT_LEVELS)}; area one of {', '.join(AREA_LEVELS)}"}, 400
            )
        now = datetime.now(UTC)
        try:
            with svc.reads() as s:
                body: dict[str, Any] = {
                    "time": now.isoformat(),
                    "cat": cat,
                    "area": area,
                    "problems": analysis.problem_rows(s, now, ctx, cat, area),
                    "candidates": analysis.candidate_rows(s, now, ctx),
                    "hotspots": analysis.scan_hotspots(s, now, ctx),
                }
        except SQLAlchemyError:
            return _json({"error": "store unavailable"}, 503)
        return _json(analysis.restrict(body, scope, ctx))

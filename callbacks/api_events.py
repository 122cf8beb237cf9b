"""GET /api/v1/events (same-event groups, ?burst=1: only those meeting 三天三单) and /api/v1/events/<id>, each cut to
the signed-in scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dash import Dash
from flask import Response, request

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_no_store as _json
from data_access.ops.services import Services
from data_access.same_event.reads import events, group_detail

#: The look-back a list may ask for, days.
MAX_DAYS = 366


def register(app: Dash, svc: Services) -> None:
    """Add /api/v1/events and /api/v1/events/<id> to the app's Flask server."""
    server = app.server

    @server.get("/api/v1/events")
    def event_list() -> Response:
        days_arg, burst_arg = request.args.get("days", "7"), request.args.get("burst", "0")
        if not days_arg.isdigit() or not 1 <= int(days_arg) <= MAX_DAYS:
            return _json({"error": f"days must be a whole number from 1 to {MAX_DAYS} (got {days_arg[:40]!r})"}, 400)
        if burst_arg not in ("0", "1"):
            return _json({"error": f"burst must be 0 or 1 (got {burst_arg[:40]!r})"}, 400)
        since = datetime.now(UTC) - timedelta(days=int(days_arg))
        scope = current_identity().scope
        with svc.reads() as s:
            rows = events(s, scope, svc.settings, since, burst_arg == "1")
        s_ = svc.settings
        return _json(
            {
                "days": int(days_arg),
                "burst_only": burst_arg == "1",
                "rule": {"appeals": s_.burst_appeals, "days": s_.burst_days},
                "events": rows,
            }
        )

    @server.get("/api/v1/events/<group_id>")
    def event(group_id: str) -> Response:
        scope = current_identity().scope
        with svc.reads() as s:
            body = group_detail(s, group_id, scope, svc.settings)
        if body is None:
            refuse("event", f"event {group_id[:64]} unknown or outside {scope.describe()}")
            return _json({"error": f"no event {group_id[:64]!r}"}, 404)
        return _json(body)

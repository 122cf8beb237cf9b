"""GET /api/v1/notifications: what was sent, to whom, delivered or not, within the signed-in scope."""

from __future__ import annotations

from dash import Dash
from flask import Response, request

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_response as _json
from data_access.notify.reading import appeal_outside, deliveries
from data_access.ops.services import Services

MAX_LIMIT = 1000


def register(app: Dash, svc: Services) -> None:
    """Add /api/v1/notifications to the app's Flask server.

    Query: `district` (a district the scope covers), `appeal`, `limit` (1..1000, default 200). A district or an
    appeal outside the scope is refused (404, audited) as if it had nothing."""
    server = app.server

    @server.get("/api/v1/notifications")
    def notifications() -> Response:
        scope = current_identity().scope
        district = request.args.get("district") or None
        appeal = request.args.get("appeal") or None
        try:
            limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", "200"))))
        except ValueError:
            return _json({"error": "limit must be a whole number"}, 400)
        if district and not scope.can_view("district", district, {}):
            refuse("notifications", f"district {district} outside {scope.describe()}")
            return _json({"error": f"no district {district!r}"}, 404)
        with svc.reads() as s:
            if appeal and appeal_outside(s, scope, appeal):
                refuse("notifications", f"appeal {appeal} outside {scope.describe()}")
                return _json({"error": f"no appeal {appeal!r}"}, 404)
            rows = deliveries(s, scope, svc.settings, district=district, appeal=appeal, limit=limit)
        return _json({"notifications": rows, "count": len(rows)})

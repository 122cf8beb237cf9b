"""GET /api/v1/appeals/<id>: one appeal with its timeline, within the signed-in scope."""

from __future__ import annotations

from datetime import UTC, datetime

from dash import Dash
from flask import Response

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_response as _json
from data_access.drill.appeal import appeal_detail, with_projection_failure
from data_access.ops.services import Services


def register(app: Dash, svc: Services) -> None:
    """Add /api/v1/appeals/<id> to the app's Flask server."""
    server = app.server

    @server.get("/api/v1/appeals/<appeal_id>")
    def appeal(appeal_id: str) -> Response:
        with svc.reads() as s:
            body = appeal_detail(s, appeal_id, datetime.now(UTC), svc.settings)
            body = with_projection_failure(s, appeal_id, body, svc.settings)
        scope = current_identity().scope
        if body and not scope.covers(body["district"], body["street"], body["grid"]):
            refuse("appeal", f"appeal {appeal_id} outside {scope.describe()}")
            body = None  # the same answer as for an appeal that does not exist
        return _json(body) if body else _json({"error": f"no appeal {appeal_id!r}"}, 404)

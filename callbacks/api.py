"""The read API (JSON on the same server): health, appeals, map layers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dash import Dash
from data_access.drill.appeal import appeal_detail, with_projection_failure
from flask import Response, g, jsonify, request

from callbacks.auth import current_identity, refuse
from data_access.ops.health import health
from data_access.ops.services import Services
from data_access.wall.refs import Refs
from data_access.wall.scope import restrict_layer
from geo import layers


def _json(body: Any, status: int = 200) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    return resp


def register(app: Dash, svc: Services, runtime: dict[str, Any], refs: Refs) -> None:
    """Add /healthz and /api/v1/... routes to the app's Flask server."""
    server = app.server
    server.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable

    @server.get("/healthz")
    def healthz() -> Response:
        ok, report = health(svc, runtime.get("ingest"), projectors=runtime.get("projectors"))
        if getattr(g, "identity", None) is None and server.config.get("CC_GUARDED"):
            report = {"ok": ok}  # anonymous monitors learn only whether it is healthy
        return _json(report, 200 if ok else 503)

    @server.get("/api/v1/appeals/<appeal_id>")
    def appeal(appeal_id: str) -> Response:
        with svc.sessions() as s:
            body = appeal_detail(s, appeal_id, datetime.now(timezone.utc), svc.settings)
            body = with_projection_failure(s, appeal_id, body, svc.settings)
        scope = current_identity().scope
        if body and not scope.covers(body["district"], body["street"], body["grid"]):
            refuse("appeal", f"appeal {appeal_id} outside {scope.describe()}")
            body = None  # the same answer as for an appeal that does not exist
        return _json(body) if body else _json({"error": f"no appeal {appeal_id!r}"}, 404)

    def scoped(layer: dict[str, Any]) -> Response:
        return _json(restrict_layer(layer, current_identity().scope, refs))

    @server.get("/api/v1/districts")
    def districts() -> Response:
        return scoped(layers.district_layer(svc.city))

    @server.get("/api/v1/streets")
    def streets() -> Response:
        return scoped(layers.street_layer(svc.city))

    @server.get("/api/v1/communities")
    def communities() -> Response:
        return scoped(layers.community_layer(svc.city))

    @server.get("/api/v1/grids")
    def grids() -> Response:
        street, district = request.args.get("street"), request.args.get("district")
        if not street and not district:
            return _json({"error": "grids are served per area: give ?street=CODE or ?district=CODE"}, 400)
        scope = current_identity().scope
        area_ok = scope.can_view("street", street, {"district": refs.street_district.get(street or "")}) if street \
            else scope.can_view("district", district, {})
        if not area_ok and scope.role != "grid_supervisor":
            refuse("grids", f"grids of {street or district} outside {scope.describe()}")
            return _json({"error": "outside your scope"}, 403)
        try:
            layer = layers.grid_layer(svc.city, street=street, district=district)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        body = restrict_layer(layer, scope, refs)
        if not body["features"]:
            refuse("grids", f"grids of {street or district} outside {scope.describe()}")
            return _json({"error": "outside your scope"}, 403)
        return _json(body)

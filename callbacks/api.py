"""The read API (JSON on the same server): health, appeals, map layers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dash import Dash
from flask import Response, g, jsonify, request

from data_access.health import health
from data_access.queries import appeal_detail
from data_access.services import Services
from geo import layers


def _json(body: Any, status: int = 200) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    return resp


def register(app: Dash, svc: Services, runtime: dict[str, Any]) -> None:
    """Add /healthz and /api/v1/... routes to the app's Flask server."""
    server = app.server
    server.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable

    @server.get("/healthz")
    def healthz() -> Response:
        ok, report = health(svc, runtime.get("ingest"))
        if getattr(g, "identity", None) is None and server.config.get("CC_GUARDED"):
            report = {"ok": ok}  # anonymous monitors learn only whether it is healthy
        return _json(report, 200 if ok else 503)

    @server.get("/api/v1/appeals/<appeal_id>")
    def appeal(appeal_id: str) -> Response:
        with svc.sessions() as s:
            body = appeal_detail(s, appeal_id, datetime.now(timezone.utc), svc.settings)
        return _json(body) if body else _json({"error": f"no appeal {appeal_id!r}"}, 404)

    @server.get("/api/v1/districts")
    def districts() -> Response:
        return _json(layers.district_layer(svc.city))

    @server.get("/api/v1/streets")
    def streets() -> Response:
        return _json(layers.street_layer(svc.city))

    @server.get("/api/v1/communities")
    def communities() -> Response:
        return _json(layers.community_layer(svc.city))

    @server.get("/api/v1/grids")
    def grids() -> Response:
        street, district = request.args.get("street"), request.args.get("district")
        if not street and not district:
            return _json({"error": "grids are served per area: give ?street=CODE or ?district=CODE"}, 400)
        return _json(layers.grid_layer(svc.city, street=street, district=district))

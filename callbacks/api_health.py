"""GET /healthz: Redis, store, ingest, projectors, grouping and the escalation engine; anonymous monitors learn
only whether it is healthy."""

from __future__ import annotations

from typing import Any

from dash import Dash
from flask import Response, g

from callbacks.responses import json_response as _json
from data_access.ops.health import health
from data_access.ops.services import Services


def register(app: Dash, svc: Services, runtime: dict[str, Any]) -> None:
    """Add /healthz to the app's Flask server."""
    server = app.server

    @server.get("/healthz")
    def healthz() -> Response:
        ok, report = health(
            svc,
            runtime.get("ingest"),
            projectors=runtime.get("projectors"),
            grouping=runtime.get("grouping"),
            escalation=runtime.get("escalation"),
        )
        if getattr(g, "identity", None) is None and server.config.get("CC_GUARDED"):
            report = {"ok": ok}  # anonymous monitors learn only whether it is healthy
        return _json(report, 200 if ok else 503)

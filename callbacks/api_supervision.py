"""GET /api/v1/supervision (the ledger: counts and cases under filters) and /api/v1/supervision/<id> (one case
with what was done to it), within the signed-in scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import Dash
from flask import Response, request

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_no_store
from dashboard.calendar import iso
from dashboard.supervision import parse_ledger_filters
from data_access.ops.services import Services
from data_access.supervision.ledger import case_actions, case_row, cases, counts
from geo.city_index import index_of

LIMIT = 1000


def _plain(row: dict[str, Any], svc: Services) -> dict[str, Any]:
    return {k: (iso(v, svc.settings) if isinstance(v, datetime) else v) for k, v in row.items()}


def register(app: Dash, svc: Services) -> None:
    """Add /api/v1/supervision routes to the app's Flask server."""
    names = index_of(svc.city).unit_name

    @app.server.get("/api/v1/supervision", endpoint="api_supervision")
    def supervision() -> Response:
        scope = current_identity().scope
        try:
            f = parse_ledger_filters(request.query_string.decode("utf-8", "replace"), svc.settings.default_lang)
        except ValueError as exc:
            return json_no_store({"error": str(exc)}, 400)
        now, zone = datetime.now(UTC), svc.settings.zone
        with svc.reads() as s:
            c = counts(s, scope, now, f, zone)
            rows = cases(s, scope, now, f, zone, names, LIMIT)
        return json_no_store(
            {"scope": scope.describe(), "counts": c, "limit": LIMIT, "cases": [_plain(r, svc) for r in rows]}
        )

    @app.server.get("/api/v1/supervision/<case_id>", endpoint="api_supervision_case")
    def supervision_case(case_id: str) -> Response:
        scope = current_identity().scope
        cid = int(case_id) if case_id.isdigit() and len(case_id) < 12 else None
        with svc.reads() as s:
            row = case_row(s, scope, cid, datetime.now(UTC), names) if cid is not None else None
            acts = case_actions(s, scope, cid) if row is not None and cid is not None else None
        if row is None or acts is None:
            refuse("case", f"case {case_id[:20]} outside {scope.describe()} or unknown")
            return json_no_store({"error": f"no case {case_id[:20]!r}"}, 404)
        return json_no_store({**_plain(row, svc), "actions": [_plain(a, svc) for a in acts]})

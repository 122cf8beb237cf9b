"""JSON answers of the read API, shared by its modules (callbacks/api_*.py)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON answer with this status."""
    resp = jsonify(body)
    resp.status_code = status
    return resp


def json_no_store(body: Any, status: int = 200) -> Response:
    """A JSON answer that no cache keeps: live figures change every second."""
    resp = json_response(body, status)
    resp.headers["Cache-Control"] = "no-store"
    return resp

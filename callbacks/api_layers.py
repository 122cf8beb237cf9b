"""The map layers in the read API: districts, streets, communities, grids and the wall's community points,
each cut to the signed-in scope."""

from __future__ import annotations

from typing import Any

from dash import Dash
from flask import Response, jsonify, request

from callbacks.auth import current_identity, refuse
from callbacks.responses import json_response as _json
from data_access.ops.services import Services
from data_access.wall.scope import restrict_layer
from geo import layers
from geo.city_index import CityIndex

COMMUNITIES_URL = "/api/v1/wall/communities"


def register(app: Dash, svc: Services, refs: CityIndex) -> None:
    """Add the /api/v1/... layer routes to the app's Flask server."""
    server = app.server

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
        area_ok = (
            scope.can_view("street", street, {"district": refs.street_district.get(street or "")})
            if street
            else scope.can_view("district", district, {})
        )
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

    points = refs.community_points()

    @server.get(COMMUNITIES_URL, endpoint="wall_communities")
    def wall_communities() -> Response:
        resp = jsonify(restrict_layer(points, current_identity().scope, refs))
        # Each answer is cut to the asker's scope: a browser may keep it, a shared cache must not
        resp.headers["Cache-Control"] = "private, max-age=3600"
        return resp

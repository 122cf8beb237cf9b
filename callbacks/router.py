"""The page router: the browser's path and query pick the page the shell shows (drill-down, topics or wall)."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from callbacks import drill, topics, wall
from callbacks.auth import current_identity
from dashboard import ids
from data_access.ops.services import Services
from data_access.wall.snapshot import WallContext


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the callback that renders the page of the URL: /area… drill-down pages, any other path the wall."""

    @app.callback(Output(ids.PAGE, "children"), Input(ids.LOCATION, "pathname"), Input(ids.LOCATION, "search"))
    def route(pathname: str | None, search: str | None) -> Any:
        page = drill.page_for(pathname, search)
        if page is not None:
            return page
        page = topics.page_for(svc, ctx, pathname, search)
        if page is not None:
            return page
        page = wall.page_for(svc, ctx, pathname, search)
        if page is not None:
            return page
        # A grid supervisor's area is a set of grids, which no wall view shows: their drill-down page.
        return drill.page_for(f"/area/g/{min(current_identity().scope.grids)}", search)

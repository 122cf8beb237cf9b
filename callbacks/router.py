"""The page router: the browser's path and query pick the page the shell shows.

Each screen module offers `page_for(…)`, which answers its own paths and None for any other; the first answer
wins, and the wall, which takes any other path, comes last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import Dash, Input, Output

from callbacks import drill, events_page, ledger, reports, topics, wall
from callbacks.auth import current_identity
from dashboard import ids
from data_access.ops.services import Services
from data_access.wall.snapshot import WallContext

Page = Callable[[str | None, str | None], Any]


def pages(svc: Services, ctx: WallContext) -> list[Page]:
    """The screens in the order they are asked: /area… the drill-down, /events, /supervision the ledger,
    /reports, /topics, then the wall (its views, and the sign-in page)."""
    return [
        drill.page_for,
        lambda path, search: events_page.page_for(svc, path, search),
        ledger.page_for,
        lambda path, search: reports.page_for(svc, ctx, path, search),
        lambda path, search: topics.page_for(svc, ctx, path, search),
        lambda path, search: wall.page_for(svc, ctx, path, search),
    ]


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the callback that renders the page of the URL."""
    chain = pages(svc, ctx)

    @app.callback(Output(ids.PAGE, "children"), Input(ids.LOCATION, "pathname"), Input(ids.LOCATION, "search"))
    def route(pathname: str | None, search: str | None) -> Any:
        for page_for in chain:
            page = page_for(pathname, search)
            if page is not None:
                return page
        # A grid supervisor's area is a set of grids, which no wall view shows: their drill-down page.
        return drill.page_for(f"/area/g/{min(current_identity().scope.grids)}", search)

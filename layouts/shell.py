"""The page shell: the URL and the slot the routed screen is drawn into."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from layouts.casework import shell_parts


def layout() -> html.Div:
    """The app's layout: a Location, the page slot (filled by callbacks/router.py from the URL) and the
    supervision actions' confirmation and result (shared by every page that shows an appeal)."""
    return html.Div([dcc.Location(id=ids.LOCATION, refresh=False), html.Div(id=ids.PAGE), *shell_parts()])

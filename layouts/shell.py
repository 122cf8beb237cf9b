"""The page shell: the URL and the slot the routed screen is drawn into."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids


def layout() -> html.Div:
    """The app's layout: a Location and the page slot (filled by callbacks/wall.py from the URL)."""
    return html.Div([dcc.Location(id=ids.LOCATION, refresh=False), html.Div(id=ids.PAGE)])

"""The live parts of an area page: the values the tick refreshes, and the tick's own components (pure builders).

`live_values` is the one place an area page's changing values are built: the page uses them when it is drawn
and the tick (callbacks/drill_live.py) sends those that changed since, so a page and its ticks cannot differ.
Only layers' data and hideouts are refreshed, never the map's bounds: the user's zoom and pan stay.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import ids_drill
from dashboard.drill import Area, Filters, choropleth
from dashboard.i18n import t
from layouts import drill as L
from layouts import drill_appeal as LA
from layouts import drill_tables as LT
from layouts.panels import num

#: The tick's outputs, in order: key -> (component id, property).
OUTPUTS: dict[str, tuple[str, str]] = {
    "lights": (ids_drill.LIGHT_FIGS, "children"),
    "members": (ids_drill.MEMBER_FIGS, "children"),
    "hideout": (ids_drill.SUB_LAYER, "hideout"),
    "red-layer": (ids_drill.RED_LAYER, "data"),
    "ranking": (ids_drill.RANKING, "children"),
    "categories": (ids_drill.CATEGORIES, "children"),
    "appeals-title": (ids_drill.APPEALS_TITLE, "children"),
    "trend": (ids_drill.TREND, "children"),
}
#: Below the fold: left out of the page's first answer, read once it is drawn (then kept live by the tick).
BELOW = ("ranking", "categories", "trend")


def live_values(area: Area, f: Filters, d: dict[str, Any], lang_q: str, below: bool = True) -> dict[str, Any]:
    """The changing values of an area page, by OUTPUTS key (those BELOW the fold as placeholders if not `below`)."""
    lang = f.lang
    values = {
        "lights": LT.lights(d["lights"], lang),
        "members": LT.member_figs(d["members"], lang),
        "hideout": choropleth(d["subs"], f.fig),
        "red-layer": L.red_points(d["red"]),
        "appeals-title": t(lang, "drill_appeals", n=num(d["lights"]["total"])),
    }
    if not below:  # the page's first answer: its data may not hold them (data_access/drill/page.py, area_page)
        return {**values, **{k: loading(lang) for k in BELOW}}
    return {
        **values,
        "ranking": LT.ranking(d["subs"], area.child, f) if area.child else LT._none(lang),
        "categories": LT.categories(d["categories"], lang) if d.get("categories") is not None else loading(lang),
        "trend": LT.trend(d["trend"], lang),
    }


#: The appeal page's tick outputs, in order: key -> (component id, property).
APPEAL_OUTPUTS: dict[str, tuple[str, str]] = {
    "facts": (ids_drill.APPEAL_FACTS, "children"),
    "review": (ids_drill.APPEAL_REVIEW, "children"),
    "timeline": (ids_drill.APPEAL_TIMELINE, "children"),
}


def appeal_values(d: dict[str, Any], where: str, lang: str, zone: Any) -> dict[str, Any]:
    """The changing values of an appeal page (light, state, due time, review, timeline), by APPEAL_OUTPUTS key:
    the page is drawn from them and its tick sends those that changed."""
    return {
        "facts": LA.facts(d, where, lang, zone),
        "review": LA.review(d, lang),
        "timeline": LA.timeline(d, lang, zone),
    }


def appeal_live_parts(refresh_ms: int, shown: dict[str, str] | None) -> list[Any]:
    """The appeal page's tick (disabled while it runs: ticks never overlap) and the version the browser shows."""
    return [
        dcc.Interval(id=ids_drill.APPEAL_TICK, interval=refresh_ms, n_intervals=0),
        dcc.Store(id=ids_drill.APPEAL_SHOWN, data=shown),
    ]


def loading(lang: str) -> html.Div:
    """A panel's place while its values are read (below the fold: after the page is drawn)."""
    return html.Div(t(lang, "grid_loading"), className="none loading")


def live_parts(refresh_ms: int, shown: dict[str, str] | None, rows_version: str | None) -> list[Any]:
    """The tick (disabled while it runs: ticks never overlap), the version the browser shows, the grids' version."""
    return [
        dcc.Interval(id=ids_drill.TICK, interval=refresh_ms, n_intervals=0),
        dcc.Store(id=ids_drill.SHOWN, data=shown),
        dcc.Store(id=ids_drill.ROWS_VERSION, data=rows_version),
        dcc.Store(id=ids_drill.BELOW_FOLD, data=1),  # its arrival reads the parts below the fold
    ]

"""Component ids of the drill-down pages (the shell's ids live in dashboard/ids.py)."""

from __future__ import annotations

PAGE = "drill-page"
MAP = "drill-map"
SUB_LAYER = "drill-sub-layer"
OUTLINE_LAYER = "drill-outline"
RED_LAYER = "drill-red-points"
APPEAL_LAYER = "drill-appeal-point"
TREND = "drill-trend"
ERROR = "drill-error"

FILTER_TYPE = "drill-filter"
#: The filter controls, each a dropdown whose value is its URL parameter.
FILTER_NAMES = ("window", "cat1", "cat2", "cat3", "channel", "kind", "priority", "light", "fig")


def filter_control(name: str) -> dict[str, str]:
    """Pattern-matching id of one filter control; `name` must be one of FILTER_NAMES."""
    if name not in FILTER_NAMES:
        raise KeyError(f"unknown filter {name!r}")
    return {"type": FILTER_TYPE, "name": name}


def table(name: str) -> str:
    """Element id of a drill-down table (also its export name)."""
    return f"drill-table-{name}"


# Same-event groups (issue 16)
GROUP_LAYER = "drill-group-points"
EVENTS_PAGE = "events-page"
EVENTS_GRID = "events-grid"
APPEAL_GROUP = "drill-appeal-group"
#: The live parts of an area page (issue 18): the tick, the version the browser shows, the grids' version.
TICK = "drill-tick"
SHOWN = "drill-shown"
ROWS_VERSION = "drill-rows-version"
LIGHT_FIGS = "drill-light-figs"
MEMBER_FIGS = "drill-member-figs"
RANKING = "drill-ranking"
CATEGORIES = "drill-categories"
APPEALS_TITLE = "drill-appeals-title"
BELOW_FOLD = "drill-below-fold"
#: The appeal page's live parts: its tick, the version the browser shows, the panels the tick refreshes.
APPEAL_TICK = "drill-appeal-tick"
APPEAL_SHOWN = "drill-appeal-shown"
APPEAL_FACTS = "drill-appeal-facts"
APPEAL_REVIEW = "drill-appeal-review"
APPEAL_TIMELINE = "drill-appeal-timeline"
#: The grids (virtualised, rows from the server a block at a time).
GRIDS = ("red", "appeals", "members")


def grid(name: str) -> str:
    """Element id of a drill-down grid; `name` must be one of GRIDS."""
    if name not in GRIDS:
        raise KeyError(f"unknown grid {name!r}")
    return f"drill-grid-{name}"


def grid_slot(name: str) -> str:
    """Element id of the place a grid is put in once the page is drawn."""
    return grid(name) + "-slot"

"""Component ids of the screens: one home, so a typo fails at import, not silently."""

from __future__ import annotations

# Shell and routing
LOCATION = "url"
PAGE = "page"

# The wall screen
TICK = "wall-tick"
SHOWN = "wall-shown"  # version of the figures the browser shows (server diffs against it)
VIEW = "wall-view"  # the view shown now (tour stop or the URL's view)
WATCHDOG = "wall-watchdog"
SCREEN = "wall-screen"
BANNER = "wall-banner"
BODY = "wall-body"
VIEW_LABEL = "wall-view-label"
VIEW_PICK = "wall-view-pick"
LANG_LINK = "wall-lang-link"

MAP = "wall-map"
DISTRICT_LAYER = "wall-districts"
STREET_LAYER = "wall-streets"
COMMUNITY_LAYER = "wall-communities"
RED_LAYER = "wall-red-points"
GROUP_LAYER = "wall-groups"  # same-event groups, one marker each (refreshed by GROUP_TICK)
GROUP_TICK = "wall-groups-tick"

DETAIL = "wall-detail"
DETAIL_BODY = "wall-detail-body"
DETAIL_CLOSE = "wall-detail-close"

#: Every live figure: element id is `metric(name)`, and it carries `data-metric=name`.
FIGURES = (
    "clock",
    "freshness",
    "open-total",
    "open-green",
    "open-yellow",
    "open-red",
    "turning-red",
    "today-volume",
    "red-uncovered",
    "cases-open",
    "members-online",
    "members-busy",
    "members-offline",
    "members-sos",
    "coverage",
    "rank-advanced",
    "rank-improving",
    "rank-rectification",
    "rank-governance",
)
#: Every live list (children replaced when changed): element id is `metric(name)`.
LISTS = ("red-list", "soon-list", "hotspot-list", "coverage-list", "ranking-table", "volume-top", "sos-alert")


def metric(name: str) -> str:
    """The element id of a live figure or list; `name` must be one of FIGURES or LISTS."""
    if name not in FIGURES and name not in LISTS:
        raise KeyError(f"unknown metric {name!r}")
    return f"m-{name}"


def appeal_row(appeal: str) -> dict[str, str]:
    """Pattern-matching id of a clickable appeal row (opens its timeline)."""
    return {"type": "wall-appeal", "appeal": appeal}


APPEAL_ROW_TYPE = "wall-appeal"

# Notifications (issue 14): the wall's channel status chip and its slow timer
NOTIFY_CHIP = "wall-notify-chip"
NOTIFY_TICK = "wall-notify-tick"

"""The drill-down pages' model: area paths (/area, /area/d/<code> … /area/a/<appeal>), breadcrumbs and filters.

Everything here is pure: URLs in, values out. Filters are validated strictly: a value that is not
allowed is an error naming the parameter, never silently widened into "everything".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from dashboard.scopes import Scope
from dashboard.settings import PRIORITIES

ROOT = "/area"
#: Path letter of each level (the appeal page is "a").
LETTERS = {"district": "d", "street": "s", "community": "c", "grid": "g", "appeal": "a"}
LEVEL_OF = {v: k for k, v in LETTERS.items()}
#: The level below each area level (grids have none: their page lists appeals).
CHILD = {"city": "district", "district": "street", "street": "community", "community": "grid", "grid": None}
PARENT_LEVELS = ("district", "street", "community", "grid")
CODE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

#: Time windows: key -> length (None: all time).
WINDOWS: dict[str, timedelta | None] = {
    "all": None,
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "365d": timedelta(days=365),
}
KINDS = ("consult", "request", "complaint", "report", "suggestion", "praise")
LIGHTS = ("green", "yellow", "red")
#: Figures the map colours sub-areas by (and the ranking sorts by).
FIGURES = ("open", "red", "volume", "red_share", "response", "resolution", "satisfaction")
RATES = ("red_share", "response", "resolution", "satisfaction")
CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TREND_DAYS = 30
MAX_CAT = 64


class FilterError(ValueError):
    """A query parameter with a value that is not allowed; the message names it."""


@dataclass(frozen=True)
class Area:
    """A drill-down page: the city, one district / street / community / grid, or one appeal."""

    level: str = "city"
    code: str | None = None

    @property
    def path(self) -> str:
        """This page's path."""
        return ROOT if self.level == "city" else f"{ROOT}/{LETTERS[self.level]}/{self.code}"

    @property
    def child(self) -> str | None:
        """The level of this area's sub-areas (None for grids and appeals)."""
        return CHILD.get(self.level)


def parse_path(pathname: str | None) -> Area | None:
    """The Area of a /area… path; None if the path is not a drill-down page or is malformed."""
    if not pathname:
        return None
    p = pathname.rstrip("/") or "/"
    if p == ROOT:
        return Area()
    parts = p.split("/")
    if len(parts) != 4 or parts[1] != ROOT[1:] or parts[2] not in LEVEL_OF or not CODE.match(parts[3]):
        return None
    return Area(LEVEL_OF[parts[2]], parts[3])


def is_drill_path(pathname: str | None) -> bool:
    """Whether a path belongs to the drill-down pages (even if malformed)."""
    p = (pathname or "").rstrip("/")
    return p == ROOT or p.startswith(ROOT + "/")


@dataclass(frozen=True)
class Filters:
    """What every panel of a page is narrowed to, and the figure the map and ranking use."""

    window: str = "all"
    cat1: str | None = None
    cat2: str | None = None
    cat3: str | None = None
    channel: str | None = None
    kind: str | None = None
    priority: str | None = None
    light: str | None = None
    fig: str = "open"
    lang: str = "zh"

    def since(self, now: datetime) -> datetime | None:
        """Start of the time window (appeals created from then on), None for all time."""
        span = WINDOWS[self.window]
        return None if span is None else now - span

    def trend_days(self) -> int:
        """Days the trend shows: the window's, at most 30."""
        span = WINDOWS[self.window]
        return TREND_DAYS if span is None else max(1, min(TREND_DAYS, -(-span // timedelta(days=1))))

    @property
    def categories(self) -> tuple[str, ...]:
        """The chosen category path, top level first."""
        return tuple(c for c in (self.cat1, self.cat2, self.cat3) if c)

    def query(self, **change: Any) -> str:
        """This filter set as a query string ('' if all default), with some fields changed."""
        f = replace(self, **change) if change else self
        if change.keys() & {"cat1"} and "cat2" not in change:
            f = replace(f, cat2=None, cat3=None)
        if change.keys() & {"cat2"} and "cat3" not in change:
            f = replace(f, cat3=None)
        q: list[tuple[str, str]] = []
        default = Filters()
        for name in ("window", "cat1", "cat2", "cat3", "channel", "kind", "priority", "light", "fig", "lang"):
            v = getattr(f, name)
            if v is not None and v != getattr(default, name):
                q.append((name, v))
        return "?" + urlencode(q) if q else ""

    def is_default(self) -> bool:
        """No narrowing at all."""
        return replace(self, fig="open", lang="zh") == Filters()


PARAMS = ("window", "cat1", "cat2", "cat3", "channel", "kind", "priority", "light", "fig", "lang")
#: Parameters some routes take besides the filters (ignored by the filter parser).
OTHER_PARAMS = ("token", "area")


def _text_ok(v: str) -> bool:
    return 0 < len(v) <= MAX_CAT and v.isprintable() and v.strip() == v


def parse_filters(search: str | None) -> Filters:
    """Filters from a query string; raises FilterError naming the first bad or repeated parameter."""
    try:
        q = parse_qs((search or "").lstrip("?"), keep_blank_values=True, strict_parsing=False, max_num_fields=32)
    except ValueError as exc:
        raise FilterError(f"query: {exc}") from None
    for k, vs in q.items():
        if k not in PARAMS and k not in OTHER_PARAMS:
            raise FilterError(f"unknown parameter {k!r}")
        if len(vs) > 1:
            raise FilterError(f"{k}: given more than once")
    one = {k: vs[0] for k, vs in q.items() if k in PARAMS}
    blank = [k for k, v in one.items() if v == ""]
    for k in blank:  # an emptied control means "any"
        one.pop(k)
    checks = {
        "window": lambda v: v in WINDOWS,
        "kind": lambda v: v in KINDS,
        "priority": lambda v: v in PRIORITIES,
        "light": lambda v: v in LIGHTS,
        "fig": lambda v: v in FIGURES,
        "lang": lambda v: v in ("zh", "en"),
        "channel": lambda v: bool(CHANNEL.match(v)),
        "cat1": _text_ok,
        "cat2": _text_ok,
        "cat3": _text_ok,
    }
    for k, v in one.items():
        if not checks[k](v):
            raise FilterError(f"{k}: {v[:40]!r} is not allowed")
    if ("cat2" in one and "cat1" not in one) or ("cat3" in one and "cat2" not in one):
        raise FilterError("category: a lower level needs the levels above it")
    return Filters(**one)


# -- breadcrumbs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Crumb:
    """One step of the breadcrumb: its label, and its path if the user may open it."""

    label: str
    area: Area
    href: str | None


@dataclass(frozen=True)
class Place:
    """Where an area lies: its own level/code and the codes (and names) of the levels above."""

    area: Area
    parents: dict[str, str | None] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # level -> name (incl. the area's own)


def breadcrumb(place: Place, scope: Scope, city_name: str, query: str = "") -> list[Crumb]:
    """City > district > … > this area: earlier steps link (keeping the filters) only if inside the scope."""
    chain = [Area()]
    for level in PARENT_LEVELS:
        code = place.parents.get(level)
        if code:
            chain.append(Area(level, code))
    if place.area.level != "city" and chain[-1] != place.area:
        chain.append(place.area)
    out = []
    for i, a in enumerate(chain):
        label = city_name if a.level == "city" else place.names.get(a.level, a.code or "")
        if a.level == "appeal":
            label = a.code or ""
        last = i == len(chain) - 1
        ok = a.level == "appeal" or scope.can_view(a.level, a.code, _parents_of(place, a.level))
        out.append(Crumb(label, a, None if last or not ok else a.path + query))
    # Steps above what the scope may see are dropped: their names are not the user's business.
    first = next((i for i, c in enumerate(out) if c.href or i == len(out) - 1), 0)
    return out[first:]


def _parents_of(place: Place, level: str) -> dict[str, str | None]:
    i = PARENT_LEVELS.index(level) if level in PARENT_LEVELS else len(PARENT_LEVELS)
    return {lv: place.parents.get(lv) for lv in PARENT_LEVELS[:i]}


def allowed(scope: Scope, place: Place) -> bool:
    """Whether the scope may open this page (appeals: whether the appeal lies inside the scope)."""
    if place.area.level == "appeal":
        p = place.parents
        return scope.covers(p.get("district"), p.get("street"), p.get("grid"))
    return scope.can_view(place.area.level, place.area.code, _parents_of(place, place.area.level))


# -- exports ----------------------------------------------------------------------------------
#: Tables of the drill-down pages that download as CSV and XLSX (`/export/<name>.<fmt>`).
EXPORT_TABLES = ("red", "appeals", "members", "ranking", "categories", "trend", "timeline")
EXPORT_FORMATS = ("csv", "xlsx")


def export_href(table: str, fmt: str, area: Area, f: Filters) -> str:
    """The download URL of a table of a page: the page's area and filters in the query."""
    if table not in EXPORT_TABLES or fmt not in EXPORT_FORMATS:
        raise KeyError(f"no export {table}.{fmt}")
    q = f.query()
    return f"/export/{table}.{fmt}?" + urlencode({"area": area.path}) + ("&" + q[1:] if q else "")


def parse_export(search: str | None) -> tuple[Area, Filters]:
    """Area and filters of an export URL's query; raises FilterError if either is bad."""
    q = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    paths = q.pop("area", [])
    if len(paths) != 1:
        raise FilterError("area: give exactly one, e.g. area=/area/d/110105")
    area = parse_path(paths[0])
    if area is None:
        raise FilterError("area: not a drill-down path")
    return area, parse_filters(urlencode([(k, v) for k, vs in q.items() for v in vs]))


def choropleth(rows: list[dict[str, Any]], fig: str) -> dict[str, Any]:
    """The sub-area layer's hideout: each code's value of the figure, the top value, whether it is a rate."""
    vals = {str(r["code"]): r[fig] for r in rows if r.get(fig) is not None}
    top = max((float(v) for v in vals.values()), default=None)
    return {"vals": vals, "max": top, "rate": fig in RATES, "fig": fig}

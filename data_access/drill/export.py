"""Rows of every drill-down table for download, narrowed by the filters and the scope (like the pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dashboard.drill import Area, Filters
from dashboard.i18n import t
from dashboard.scopes import Scope
from dashboard.settings import Settings
from data_access.drill import queries as q
from data_access.drill.page import appeal_page
from geo.city_index import CityIndex

MAX_ROWS = 100_000
Table = tuple[list[str], list[list[Any]]]


def _when(v: datetime | None, s: Settings) -> str:
    return "" if v is None else v.astimezone(s.zone).strftime("%Y-%m-%d %H:%M:%S")


def _appeal_table(rows: list[dict[str, Any]], lang: str, s: Settings) -> Table:
    head = [
        t(lang, k)
        for k in (
            "drill_id",
            "drill_created_at",
            "drill_light",
            "col_cat",
            "drill_channel",
            "drill_kind",
            "drill_priority",
            "col_unit",
            "drill_member",
            "district",
            "street",
            "col_place",
            "drill_grid",
            "drill_due",
            "drill_address",
            "summary",
        )
    ]
    body = [
        [
            r["id"],
            _when(r["created_at"], s),
            r["light"],
            r["category_path"],
            r["channel"],
            r["kind"],
            r["priority"],
            r["unit_name"],
            r["member_name"],
            r["district"],
            r["street"],
            r["place"],
            r["grid"],
            _when(r["due_at"], s),
            r["address"],
            r["summary"],
        ]
        for r in rows
    ]
    return head, body


def table(
    session: Session, name: str, area: Area, f: Filters, scope: Scope, now: datetime, s: Settings, refs: CityIndex
) -> Table:
    """(header, rows) of one table of a page; the caller has checked the page against the scope."""
    lang = f.lang
    if name == "timeline":
        d = appeal_page(session, area.code or "", now, s, refs) if area.level == "appeal" else None
        if d is None or not scope.covers(d["district"], d["street"], d["grid"]):
            return [], []
        head = [t(lang, k) for k in ("drill_when", "drill_event", "drill_unit", "drill_member", "drill_detail")]
        return head, [
            [
                e["at"],
                e["type"],
                e["unit_name"],
                e["member_name"],
                " · ".join(str(e[k]) for k in ("reason", "note", "satisfaction", "due_at") if e.get(k)),
            ]
            for e in d["events"]
        ]
    if area.level == "appeal":
        raise ValueError(f"{name} is a table of area pages, not of an appeal")
    if name == "red":
        return _appeal_table(q.red_list(session, area, f, scope, now, refs, MAX_ROWS), lang, s)
    if name == "appeals":
        return _appeal_table(q.appeals(session, area, f, scope, now, refs, MAX_ROWS), lang, s)
    if name == "members":
        m = q.members(session, area, scope, now, s, MAX_ROWS)
        head = [
            t(lang, k)
            for k in ("drill_id", "drill_member", "drill_member_role", "drill_grid", "drill_state", "drill_seen")
        ]
        return head, [[r["id"], r["name"], r["role"], r["grid"], r["state"], _when(r["seen_at"], s)] for r in m["rows"]]
    if name == "ranking":
        rows = q.rank(q.sub_stats(session, area, f, scope, now, refs, refs.children_in(area, scope)), f.fig)
        head = [
            "#",
            "code",
            t(lang, "col_name"),
            t(lang, "drill_fig_volume"),
            t(lang, "open"),
            t(lang, "red"),
            t(lang, "drill_fig_red_share"),
            t(lang, "col_resp"),
            t(lang, "col_resol"),
            t(lang, "col_sat"),
            "reviewed",
        ]
        return head, [
            [
                r["rank"],
                r["code"],
                r["name"],
                r["volume"],
                r["open"],
                r["red"],
                r["red_share"],
                r["response"],
                r["resolution"],
                r["satisfaction"],
                r["reviewed"],
            ]
            for r in rows
        ]
    if name == "categories":
        rows = q.top_categories(session, area, f, scope, now, MAX_ROWS)
        head = [t(lang, "drill_cat1"), t(lang, "drill_cat2"), t(lang, "drill_cat3"), t(lang, "drill_count")]
        return head, [[r["cat1"], r["cat2"], r["cat3"], r["count"]] for r in rows]
    if name == "trend":
        rows = q.trend(session, area, f, scope, now, s)
        head = ["day", t(lang, "drill_created"), t(lang, "drill_resolved"), t(lang, "red")]
        return head, [[r["day"], r["created"], r["resolved"], r["red_now"]] for r in rows]
    raise ValueError(f"no table {name!r}")

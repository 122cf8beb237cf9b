"""The drill-down pages' long tables, one block of rows at a time: paging, sorting and filtering in SQL.

A grid asks for rows [start, end) with a sort model and a filter model (dash-ag-grid's infinite row model).
Only the columns named here may sort or filter, each through its own SQL expression; anything else is a
`RowsError` naming what was refused. The area's, the scope's and the page filters' conditions
(`queries.appeal_where`, `queries.scope_where`) are always applied, whatever the request says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, select
from sqlalchemy.orm import Session

from dashboard.drill import Area, Filters
from dashboard.scopes import Scope
from dashboard.settings import Settings
from data_access.drill.queries import MEMBER_COLUMN, _appeal_rows, appeal_where, index_hint, scope_where
from data_access.store.appeal_rows import COLUMNS
from data_access.store.lights import is_red
from data_access.store.models import Appeal, Member, Presence
from geo.city_index import CityIndex

#: The grids' names.
TABLES = ("red", "appeals", "members")
#: At most this many rows in one block (ag-grid's cacheBlockSize is smaller).
MAX_BLOCK = 200
#: Rows past this are not paged to (an OFFSET that deep reads the table for nothing: narrow the filters).
MAX_ROW = 100_000
MAX_TEXT = 64
TEXT_OPS = ("contains", "equals", "startsWith")


class RowsError(ValueError):
    """A block request the grids do not answer; the message says which part."""


@dataclass(frozen=True)
class Block:
    """What a grid asks for: rows [start, end), sorted by `sort` ((column, descending), first first), narrowed by
    `text` ((column, operator, value))."""

    start: int
    end: int
    sort: tuple[tuple[str, bool], ...] = ()
    text: tuple[tuple[str, str, str], ...] = ()


def _presence_state(now: datetime, settings: Settings) -> Any:
    fresh = and_(Presence.at.is_not(None), Presence.at >= now - timedelta(seconds=settings.presence_window_s))
    return case(
        (and_(fresh, Presence.state == "sos"), "sos"),
        (and_(fresh, Presence.state == "busy"), "busy"),
        (and_(fresh, Presence.state == "on_duty"), "online"),
        else_="offline",
    )


#: Sortable columns of each table: column id -> SQL expressions (ascending order of the column's meaning).
SORTS: dict[str, dict[str, tuple[Any, ...]]] = {
    "red": {
        "id": (Appeal.id,),
        "late": (Appeal.red_from.desc(),),  # longest late first when ascending by lateness: latest red_from last
        "unit": (Appeal.unit,),
        "place": (Appeal.grid,),
        "category": (Appeal.cat1, Appeal.cat2, Appeal.cat3),
    },
    "appeals": {
        "id": (Appeal.id,),
        "created": (Appeal.created_at,),
        "category": (Appeal.cat1, Appeal.cat2, Appeal.cat3),
        "place": (Appeal.grid,),
        "status": (Appeal.status,),
    },
    "members": {
        "name": (Member.name,),
        "role": (Member.role,),
        "grid": (Member.grid,),
    },
}
#: Text-filterable columns of each table: column id -> SQL column.
TEXTS: dict[str, dict[str, Any]] = {
    "red": {"id": Appeal.id, "summary": Appeal.summary, "category": Appeal.cat3},
    "appeals": {"id": Appeal.id, "summary": Appeal.summary, "address": Appeal.address, "category": Appeal.cat3},
    "members": {"name": Member.name, "grid": Member.grid},
}
DEFAULT_ORDER: dict[str, tuple[Any, ...]] = {
    "red": (Appeal.red_from, Appeal.id),
    "appeals": (Appeal.created_at.desc(), Appeal.id),
    "members": (Member.grid, Member.id),
}


def block_of(table: str, request: Any) -> Block:
    """The block a grid's getRowsRequest asks for; RowsError for anything not answered."""
    if table not in TABLES:
        raise RowsError(f"table {str(table)[:20]!r}")
    if not isinstance(request, dict):
        raise RowsError("request")
    start, end = request.get("startRow"), request.get("endRow")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end or start > MAX_ROW:
        raise RowsError("startRow/endRow")
    end = min(end, start + MAX_BLOCK)
    sort = []
    for s in request.get("sortModel") or []:
        col, way = (s or {}).get("colId"), (s or {}).get("sort")
        if col not in SORTS[table] or way not in ("asc", "desc"):
            raise RowsError(f"sort {str(col)[:20]!r}")
        sort.append((str(col), way == "desc"))
    texts = []
    model = request.get("filterModel") or {}
    if not isinstance(model, dict):
        raise RowsError("filterModel")
    for col, f in model.items():
        if col not in TEXTS[table] or not isinstance(f, dict):
            raise RowsError(f"filter {str(col)[:20]!r}")
        op, value = f.get("type"), f.get("filter")
        if f.get("filterType") != "text" or op not in TEXT_OPS or not isinstance(value, str):
            raise RowsError(f"filter {col!r}: {str(op)[:20]!r}")
        if len(value) > MAX_TEXT:
            raise RowsError(f"filter {col!r}: longer than {MAX_TEXT}")
        texts.append((col, op, value))
    return Block(start, end, tuple(sort), tuple(texts))


def _like(col: Any, op: str, value: str) -> ColumnElement[bool]:
    if op == "equals":
        return col == value  # type: ignore[no-any-return]
    esc = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"{esc}%" if op == "startsWith" else f"%{esc}%"
    return col.like(pattern, escape="\\")  # type: ignore[no-any-return]


def _order(table: str, b: Block) -> list[Any]:
    out: list[Any] = []
    for col, desc in b.sort:
        for e in SORTS[table][col]:
            out.append(_reverse(e) if desc else e)
    return out + list(DEFAULT_ORDER[table])


def _reverse(e: Any) -> Any:
    modifier = getattr(e, "modifier", None)
    if modifier is not None and getattr(modifier, "__name__", "") == "desc_op":
        return e.element.asc()
    return e.desc()


def appeal_block(
    session: Session, table: str, area: Area, f: Filters, scope: Scope, now: datetime, refs: CityIndex, b: Block
) -> list[dict[str, Any]]:
    """A block of the red list or of the matching appeals, as screen rows."""
    where = appeal_where(area, f, scope, now) + index_hint(area, refs)
    if table == "red":
        where.append(is_red(now))
    where += [_like(TEXTS[table][c], op, v) for c, op, v in b.text]
    q = select(*COLUMNS).where(*where).order_by(*_order(table, b)).offset(b.start).limit(b.end - b.start)
    return _appeal_rows(session.execute(q), now, refs)


def member_block(
    session: Session, area: Area, scope: Scope, now: datetime, settings: Settings, b: Block
) -> list[dict[str, Any]]:
    """A block of the area's grid members (within scope) with their state now."""
    w = scope_where(scope, Member.district, Member.street, Member.grid)
    if area.level in MEMBER_COLUMN:
        w.append(MEMBER_COLUMN[area.level] == area.code)
    w += [_like(TEXTS["members"][c], op, v) for c, op, v in b.text]
    state = _presence_state(now, settings)
    order = case((state == "sos", 0), (state == "busy", 1), (state == "online", 2), else_=3)
    q = (
        select(Member.id, Member.name, Member.role, Member.grid, state, Presence.at)
        .outerjoin(Presence, Presence.member == Member.id)
        .where(*w)
        .order_by(*([] if b.sort else [order]), *_order("members", b))
        .offset(b.start)
        .limit(b.end - b.start)
    )
    return [
        {"id": mid, "name": name, "role": role, "grid": grid, "state": st, "seen_at": at}
        for mid, name, role, grid, st, at in session.execute(q)
    ]

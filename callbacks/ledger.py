"""The supervision ledger page (督办台账) at /supervision: its page for the router, its filters, the actions on the
selected case, and its downloads. Everything is read within the signed-in scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from dash import ALL, Dash, Input, Output, State, no_update
from dash import ctx as dash_ctx
from flask import Response, g, request

from callbacks.auth import current_identity, refuse
from callbacks.casework import _lang
from callbacks.drill import home_path
from callbacks.exports import to_csv, to_xlsx
from callbacks.responses import json_response
from dashboard import ids, ids_cases
from dashboard.i18n import t
from dashboard.supervision import LEDGER_PATH, LedgerFilters, parse_ledger_filters
from data_access.ops.services import Services
from data_access.supervision.ledger import case_actions, case_brief, cases, counts, per_unit, table
from geo.city_index import index_of
from layouts import casework as LC
from layouts import ledger as L


def page_for(pathname: str | None, search: str | None) -> Any:
    """The ledger page of /supervision (None for other paths): for the shell's router."""
    if (pathname or "").rstrip("/") != LEDGER_PATH:
        return None
    svc: Services = g.services
    ident = current_identity()
    error = None
    try:
        f = parse_ledger_filters(search, svc.settings.default_lang)
    except ValueError as exc:
        f = LedgerFilters(lang=_lang(search, svc.settings.default_lang))
        error = t(f.lang, "ledger_bad_filter", msg=str(exc))
    names = index_of(svc.city).unit_name
    now, zone = datetime.now(UTC), svc.settings.zone
    with svc.reads() as s:
        c = counts(s, ident.scope, now, f, zone)
        units = per_unit(s, ident.scope, now, f, zone, names)
        rows = cases(s, ident.scope, now, f, zone, names)
    head = L.header(f.lang, ident.name, home_path(ident.scope), f)
    return L.page(head, f, c, units, rows, zone, error)


def register(app: Dash, svc: Services) -> None:
    """Add the ledger's callbacks and its download route."""
    names = index_of(svc.city).unit_name

    @app.callback(
        Output(ids.LOCATION, "search", allow_duplicate=True),
        Input({"type": ids_cases.FILTER_TYPE, "name": ALL}, "value"),
        Input({"type": ids_cases.DAY_TYPE, "name": ALL}, "date"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def ledger_filters(values: list[Any], days: list[Any], pathname: str | None, search: str | None) -> Any:
        current_identity()  # signed in (the guard); the filters only shape the URL, the page reads within the scope
        if (pathname or "").rstrip("/") != LEDGER_PATH:
            return no_update
        lang = _lang(search, svc.settings.default_lang)
        names_ = [i["id"]["name"] for i in dash_ctx.inputs_list[0] + dash_ctx.inputs_list[1]]
        change = {n: v for n, v in zip(names_, values + days) if isinstance(v, (str, type(None)))}
        new = LedgerFilters(lang=lang).query(**{k: v or None for k, v in change.items()})
        try:
            parse_ledger_filters(new)
        except ValueError:
            return no_update
        return no_update if new == (search or "?") or new == search else new

    @app.callback(
        Output(ids_cases.CONFIRM, "displayed", allow_duplicate=True),
        Output(ids_cases.CONFIRM, "message", allow_duplicate=True),
        Output(ids_cases.PENDING, "data", allow_duplicate=True),
        Output(ids_cases.RESULT, "children", allow_duplicate=True),
        Input({"type": ids_cases.ACT_TYPE, "action": ALL}, "n_clicks"),
        State(ids_cases.GRID, "selectedRows"),
        State(ids_cases.NOTE, "value"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def ask_ledger(_clicks: Any, selected: Any, note: Any, search: str | None) -> Any:
        ident = current_identity()
        lang = _lang(search, svc.settings.default_lang)
        trig = dash_ctx.triggered_id
        clicked = dash_ctx.triggered[0]["value"] if dash_ctx.triggered else None
        if not isinstance(trig, dict) or not clicked or trig.get("action") not in ("answer", "close", "note"):
            return no_update, no_update, no_update, no_update
        row = selected[0] if isinstance(selected, list) and selected else None
        case_id = row.get("id") if isinstance(row, dict) else None
        if not isinstance(case_id, int):
            return no_update, no_update, no_update, LC.result(t(lang, "ledger_pick"), False)
        with svc.sessions() as s:  # the primary: the action about to be taken is checked against what it holds
            brief = case_brief(s, ident.scope, case_id)
        if brief is None:
            refuse("case", f"case {case_id} outside {ident.scope.describe()}")
            return no_update, no_update, no_update, LC.result(t(lang, "case_not_found"), False)
        action = str(trig["action"])
        msg = t(lang, "case_confirm_act", case=case_id, appeal=brief["appeal"], action=t(lang, f"case_{action}"))
        return True, msg, {"action": action, "case": case_id, "note": str(note or "")[:500]}, None

    @app.callback(
        Output(ids_cases.GRID, "rowData"),
        Output(ids_cases.HISTORY, "children"),
        Input(ids_cases.DONE, "data"),
        Input(ids_cases.GRID, "selectedRows"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def ledger_rows(_done: Any, selected: Any, search: str | None) -> Any:
        ident = current_identity()
        try:
            f = parse_ledger_filters(search, svc.settings.default_lang)
        except ValueError:
            return no_update, no_update
        now, zone = datetime.now(UTC), svc.settings.zone
        row = selected[0] if isinstance(selected, list) and selected else None
        case_id = row.get("id") if isinstance(row, dict) else None
        with svc.sessions() as s:  # the primary: read right after an action, which must show in it
            rows = cases(s, ident.scope, now, f, zone, names) if dash_ctx.triggered_id == ids_cases.DONE else None
            hist = case_actions(s, ident.scope, case_id) if isinstance(case_id, int) else []
        if hist is None:
            refuse("case", f"case {case_id} outside {ident.scope.describe()}")
            return no_update, no_update
        return (no_update if rows is None else L.grid_rows(rows, f.lang, zone)), L.history(hist, f.lang, zone)

    @app.server.get(f"{LEDGER_PATH}/export.<fmt>", endpoint="ledger_export")
    def ledger_export(fmt: str) -> Response:
        ident = current_identity()
        if fmt not in ("csv", "xlsx"):
            return json_response({"error": f"no export format {fmt!r}: csv, xlsx"}, 404)
        try:
            f = parse_ledger_filters(request.query_string.decode("utf-8", "replace"), svc.settings.default_lang)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        now = datetime.now(UTC)
        with svc.reads() as s:
            head, rows = table(s, ident.scope, now, f, svc.settings.zone, names)
        stamp = now.astimezone(svc.settings.zone).strftime("%Y%m%d-%H%M")
        fname = f"supervision-{ident.scope.describe().replace(':', '-')[:40]}-{stamp}.{fmt}"
        if fmt == "csv":
            body, mime = to_csv(head, rows), "text/csv; charset=utf-8"
        else:
            body, mime = (
                to_xlsx("supervision", head, rows),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        resp = Response(body, mimetype=mime)
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(fname)}"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

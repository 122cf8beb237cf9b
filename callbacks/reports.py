"""The reports page (/reports), its downloads (/reports/file/<id>.pdf|xlsx) and builds asked for on it.

Every request is checked against the signed-in scope: the page lists only reports of scopes inside it, a build is
refused for a scope outside it (or a future period, or an unknown scope), and a download of another scope's report
answers 404 and is audited, like every export. A build asked for goes to the report's subscribers when it is one
the schedule makes for them (dashboard/reports.delivered_on_request): it takes the schedule's place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

from dash import Dash, Input, Output, State, no_update
from flask import Response, jsonify

from callbacks.auth import current_identity, refuse
from dashboard import ids_reports as ids
from dashboard.i18n import lang_of, t
from dashboard.ids import LOCATION
from dashboard.reports import ReportError, parse_period
from dashboard.scopes import COMMAND_CENTER, DISTRICT_LEADER, STREET_LEADER, Scope
from dashboard.wall import View
from data_access.ops.pools import pool
from data_access.ops.services import Services
from data_access.reports import archive, delivery
from data_access.reports.build import check, make
from data_access.wall.scope import view_allowed
from data_access.wall.snapshot import WallContext
from layouts import reports as L

MIME = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def scopes_for(scope: Scope, ctx: WallContext) -> list[tuple[str, str]]:
    """(scope key, name) a user may ask reports for: their area and the areas inside it."""
    refs = ctx.refs
    if scope.role == COMMAND_CENTER:
        views = [View()] + [View("district", d) for d in sorted(refs.district_name)]
        views += [View("street", s) for s in sorted(refs.street_name)]
    elif scope.role == DISTRICT_LEADER:
        views = [View("district", scope.district)]
        views += [View("street", s) for s in sorted(refs.street_name) if refs.street_district.get(s) == scope.district]
    elif scope.role == STREET_LEADER:
        views = [View("street", scope.street)]
    else:
        views = []
    return [(v.key, refs.view_name(v)) for v in views]


def _query(search: str | None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items()}


def _listing(svc: Services, ctx: WallContext, scope: Scope) -> tuple[list[dict[str, Any]], dict[str, str]]:
    mine = scopes_for(scope, ctx)
    with svc.sessions() as s:
        rows = archive.listing(s, None if scope.role == COMMAND_CENTER else [k for k, _ in mine])
    for r in rows:
        r["made_at"] = r["made_at"].astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M") if r["made_at"] else None
    return rows, dict(mine)


def page_for(svc: Services, ctx: WallContext, pathname: str | None, search: str | None) -> Any:
    """The reports page of /reports (None for other paths): the archive, or one report with ?id=N."""
    if (pathname or "").rstrip("/") != "/reports":
        return None
    q = _query(search)
    lang = lang_of(q.get("lang"), ctx.settings.default_lang)
    scope = current_identity().scope
    mine = scopes_for(scope, ctx)
    if not mine:
        return L.page(lang, [], L.message(t(lang, "rp_no_access"), "bad"))
    if q.get("id"):
        rid = int(q["id"]) if q["id"].isdigit() else -1
        with svc.sessions() as s:
            row = archive.get(s, rid)
            shown = row is not None and row.state == "made" and row.content is not None
            if shown and row is not None and view_allowed(scope, View.parse(row.scope), ctx.refs):
                return L.report_view(archive.from_json(row.content or ""), lang, rid)
        if shown:
            refuse("report-view", f"report {rid}")
        return L.message(t(lang, "rp_not_found"), "bad")
    rows, names = _listing(svc, ctx, scope)
    return L.page(lang, mine, L.archive_table(lang, rows, names))


def register(app: Dash, svc: Services, ctx: WallContext) -> None:
    """Add the page's callbacks and the download route; builds asked for run in this app's own threads."""
    builds = pool(1, "report-build")
    deliver = delivery.from_settings(svc.settings)

    @app.callback(
        Output(ids.STATUS, "children"),
        Output(ids.ASKED, "data"),
        Output(ids.WATCH, "disabled"),
        Input(ids.MAKE, "n_clicks"),
        State(ids.KIND, "value"),
        State(ids.PERIOD, "value"),
        State(ids.SCOPE, "value"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def make_report(n: int | None, kind: str | None, period: str | None, key: str | None, search: str | None) -> Any:
        lang = lang_of(_query(search).get("lang"), ctx.settings.default_lang)
        ident = current_identity()
        now = datetime.now(UTC)
        try:
            p = parse_period(kind or "", period or "")
            view = check(p, key or "", ctx, now)
        except ReportError as exc:
            return L.message(t(lang, "rp_refused", reason=str(exc)), "bad"), None, True
        if not view_allowed(ident.scope, view, ctx.refs):
            refuse("report-make", f"{kind} {period} {key}")
            return L.message(t(lang, "rp_refused", reason=t(lang, "rp_outside")), "bad"), None, True
        to = delivery.on_request(deliver, svc.settings, p, view.key, now)  # subscribers: as the schedule would
        builds.submit(make, svc.sessions, ctx, p, view, now, requested_by=ident.name, deliver=to, reads=svc.reads)
        asked = {"kind": p.kind, "period": p.label, "scope": view.key}
        return L.message(t(lang, "rp_building", step="…")), asked, False

    @app.callback(
        Output(ids.STATUS, "children", allow_duplicate=True),
        Output(ids.ARCHIVE, "children"),
        Output(ids.WATCH, "disabled", allow_duplicate=True),
        Input(ids.WATCH, "n_intervals"),
        State(ids.ASKED, "data"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def watch_report(_n: int | None, asked: dict[str, str] | None, search: str | None) -> Any:
        lang = lang_of(_query(search).get("lang"), ctx.settings.default_lang)
        scope = current_identity().scope
        if not isinstance(asked, dict) or not {"kind", "period", "scope"} <= set(asked):
            return no_update, no_update, True
        view = View.parse(str(asked["scope"]))
        if view.key != asked["scope"] or not view_allowed(scope, view, ctx.refs):
            refuse("report-watch", str(asked)[:200])
            return L.message(t(lang, "rp_refused", reason=t(lang, "rp_outside")), "bad"), no_update, True
        with svc.sessions() as s:
            row = archive.find(s, str(asked["kind"]), str(asked["period"]), view.key)
            state = None if row is None else (row.state, row.progress, row.reason, row.attempts, row.id)
        rows, names = _listing(svc, ctx, scope)
        table = L.archive_table(lang, rows, names)
        if state is None or state[0] == "building":
            return L.message(t(lang, "rp_building", step=(state and state[1]) or "…")), table, False
        if state[0] == "failed":
            return L.message(t(lang, "rp_failed", reason=state[2] or "", n=state[3]), "bad"), table, True
        title = t(
            lang,
            "rp_title",
            kind=t(lang, f"rp_kind_{asked['kind']}"),
            scope=names.get(view.key, view.key),
            period=asked["period"],
        )
        return L.message(t(lang, "rp_made", title=title), "ok"), table, True

    @app.server.get("/reports/file/<filename>", endpoint="report_file")
    def report_file(filename: str) -> Response:
        scope = current_identity().scope
        stem, _, fmt = filename.partition(".")
        if not stem.isdigit() or fmt not in MIME:
            return _error("no such file: /reports/file/<id>.pdf or .xlsx", 404)
        with svc.sessions() as s:
            row = archive.get(s, int(stem))
            if row is None or row.state != "made":
                return _error("not available", 404)
            if not view_allowed(scope, View.parse(row.scope), ctx.refs):
                refuse("report-file", filename)
                return _error("not available", 404)
            body = row.pdf if fmt == "pdf" else row.xlsx
            name = f"{row.kind}-{row.period}-{row.scope.replace(':', '-')}.{fmt}"
        resp = Response(body, mimetype=MIME[fmt])
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp


def _error(msg: str, status: int) -> Response:
    resp = jsonify({"error": msg})
    resp.status_code = status
    return resp

"""The 督办 and 催办 buttons on appeals and the ledger's answer/close/note: ask to confirm, then act.

Both steps authorize from the signed-in identity (`current_identity()`): the appeal or case named by the click, or
by the pending store the browser sends back, is checked against the user's scope and role on the server; a forged
one outside the scope gets nothing and is audited."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from dash import ALL, Dash, Input, Output, State, no_update
from dash import ctx as dash_ctx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callbacks.auth import current_identity, refuse
from callbacks.drill import checked_place
from dashboard import ids, ids_cases, ids_drill
from dashboard.drill import parse_path
from dashboard.i18n import lang_of, t
from dashboard.supervision import CaseRefused
from data_access.ops.services import Services
from data_access.supervision.casework import Contacts, NotInScope, Outcome, act, chase, open_by_hand, preview
from data_access.supervision.ledger import appeal_cases_in
from geo.city_index import index_of
from layouts import casework as LC

log = logging.getLogger(__name__)


def no_contacts(_session: Session, _unit: str) -> list[Any]:
    """A roster that knows nobody (a chase is then recorded, and says that no reminder went out)."""
    return []


def _lang(search: str | None, default: str) -> str:
    return lang_of(dict(parse_qsl((search or "").lstrip("?"))).get("lang"), default)


def _message(o: Outcome, lang: str, svc: Services) -> str:
    fields = dict(o.fields)
    if "due" in fields:
        fields["due"] = LC.when(fields["due"], svc.settings.zone)
    if fields.get("state"):
        fields["state"] = t(lang, f"case_state_{fields['state']}")
    return t(lang, o.key, **fields)


def register(app: Dash, svc: Services, contacts: Contacts = no_contacts) -> None:
    """Add the callbacks: a button asks (confirmation), the confirmation acts, the appeal page's panel follows."""
    refs = index_of(svc.city)

    def ask(action: str, appeal: str, search: str | None) -> Any:
        """Ask to confirm 督办 (open) or 催办 (chase) of an appeal, if the signed-in scope covers it."""
        ident = current_identity()
        lang = _lang(search, svc.settings.default_lang)
        try:
            with svc.sessions() as s:  # casework reads the primary: what an action is about, and its outcome at once
                p = preview(s, appeal, ident.scope, action)
        except NotInScope as exc:
            refuse("case", str(exc)[:300])
            return no_update, no_update, no_update, LC.result(t(lang, "case_not_found"), False)
        except CaseRefused as exc:
            return no_update, no_update, no_update, LC.result(t(lang, exc.key), False)
        level = t(lang, f"case_level_{p['level']}") if p["level"] else ""
        msg = t(lang, f"case_confirm_{action}", appeal=appeal, level=level)
        return True, msg, {"action": action, "appeal": appeal}, None

    asks = (
        Output(ids_cases.CONFIRM, "displayed", allow_duplicate=True),
        Output(ids_cases.CONFIRM, "message", allow_duplicate=True),
        Output(ids_cases.PENDING, "data", allow_duplicate=True),
        Output(ids_cases.RESULT, "children", allow_duplicate=True),
    )

    @app.callback(
        *asks,
        Input({"type": ids_cases.BUTTON_TYPE, "action": ALL, "appeal": ALL}, "n_clicks"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def ask_case(_clicks: Any, search: str | None) -> Any:
        trig = dash_ctx.triggered_id
        clicked = dash_ctx.triggered[0]["value"] if dash_ctx.triggered else None
        if not isinstance(trig, dict) or not clicked or trig.get("action") not in ("open", "chase"):
            return no_update, no_update, no_update, no_update
        return ask(str(trig["action"]), str(trig.get("appeal")), search)

    @app.callback(
        *asks,
        Input(ids_drill.grid("red"), "cellRendererData"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def ask_case_grid(data: Any, search: str | None) -> Any:
        """The same question from a row of the drill-down's red grid (its 督办/催办 cell reports the click)."""
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, dict) or value.get("action") not in ("open", "chase") or not value.get("appeal"):
            return no_update, no_update, no_update, no_update
        return ask(str(value["action"]), str(value["appeal"])[:64], search)

    @app.callback(
        Output(ids_cases.APPEAL_CASES, "children"),
        Input(ids_cases.DONE, "data"),
        State(ids.LOCATION, "pathname"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def appeal_cases_panel(_done: Any, pathname: str | None, search: str | None) -> Any:
        scope = current_identity().scope
        area = parse_path(pathname)
        if area is None or checked_place(svc, refs, area, "case-panel", f"{pathname}") is None:
            return no_update  # not a drill-down page, or one outside the scope (refused and audited)
        if area.level != "appeal" or not area.code:
            return no_update
        with svc.sessions() as s:
            rows = appeal_cases_in(s, scope, area.code, datetime.now(UTC))
        if rows is None:
            refuse("case", f"appeal {area.code[:64]} outside {scope.describe()} or unknown")
            return no_update
        return LC.appeal_cases(rows, area.code, _lang(search, svc.settings.default_lang), svc.settings.zone)

    @app.callback(
        Output(ids_cases.RESULT, "children", allow_duplicate=True),
        Output(ids_cases.DONE, "data"),
        Input(ids_cases.CONFIRM, "submit_n_clicks"),
        State(ids_cases.PENDING, "data"),
        State(ids_cases.DONE, "data"),
        State(ids.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def do_case(submitted: Any, pending: Any, done: Any, search: str | None) -> Any:
        ident = current_identity()
        lang = _lang(search, svc.settings.default_lang)
        if not submitted or not isinstance(pending, dict):
            return no_update, no_update
        action, now = pending.get("action"), datetime.now(UTC)
        try:
            with svc.sessions() as s, s.begin():
                if action == "open":
                    o = open_by_hand(s, str(pending.get("appeal")), ident.name, ident.scope, now)
                elif action == "chase":
                    o = chase(s, str(pending.get("appeal")), ident.name, ident.scope, now, svc.settings, contacts, lang)
                elif action in ("answer", "close", "note") and isinstance(pending.get("case"), int):
                    o = act(s, pending["case"], action, ident.name, ident.scope, now, str(pending.get("note") or ""))
                else:
                    return LC.result(t(lang, "case_bad_action"), False), no_update
        except NotInScope as exc:
            refuse("case", str(exc)[:300])
            return LC.result(t(lang, "case_not_found"), False), no_update
        except CaseRefused as exc:
            return LC.result(t(lang, exc.key), False), no_update
        except SQLAlchemyError:
            log.exception("supervision action %s failed", action)
            return LC.result(t(lang, "case_failed"), False), no_update
        return LC.result(_message(o, lang, svc), True), (done if isinstance(done, int) else 0) + 1

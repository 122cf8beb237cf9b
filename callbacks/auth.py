"""Sign-in, sign-out and the guard every request passes: no identity, no data."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlencode, urlparse

from dash import Dash
from flask import Response, g, jsonify, make_response, redirect, request
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns; flask's Response is one

from callbacks.login_limit import count_failure, sign_in_limits
from dashboard.i18n import lang_of, t
from data_access.accounts.sessions import (
    Identity,
    identity,
    sign_in,
    sign_out,
)
from data_access.accounts.users import audit
from data_access.ops.services import Services

log = logging.getLogger(__name__)

SESSION_COOKIE = "cc_session"
DISPLAY_COOKIE = "cc_display"
#: Paths anyone may fetch: the sign-in page and static code, none of which holds data.
PUBLIC_PREFIXES = ("/login", "/assets/", "/_dash-component-suites/", "/_favicon.ico")
DATA_PREFIXES = ("/api/", "/_dash-", "/_wall-")


def current_identity() -> Identity:
    """The identity the guard resolved for this request (the guard refuses requests without one)."""
    ident: Identity | None = getattr(g, "identity", None)
    if ident is None:
        raise PermissionError("no identity on this request")
    return ident


def refuse(what: str, detail: str) -> None:
    """Log and audit an out-of-scope request (the caller then returns nothing of it)."""
    ident = getattr(g, "identity", None)
    who = ident.name if ident else "anonymous"
    log.warning("refused %s for %s: %s", what, who, detail)
    svc: Services = g.services
    with svc.sessions() as s, s.begin():
        audit(s, who, f"refused-{what}"[:64], f"{request.method} {request.path} {detail}"[:2000], _now())


def _now() -> datetime:
    return datetime.now(UTC)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not target:
        return "/"
    u = urlparse(target)
    if u.scheme or u.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _resolve(svc: Services) -> Identity | None:
    token = request.cookies.get(SESSION_COOKIE)
    display = request.args.get("token") or request.cookies.get(DISPLAY_COOKIE)
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        display = bearer[7:].strip()
    if not token and not display:
        return None
    return identity(svc.sessions, token, display, _now())


def register(app: Dash, svc: Services) -> None:
    """Install the guard and the sign-in/sign-out routes on the app's server (once per app)."""
    server = app.server
    if server.config.get("CC_GUARDED"):
        return
    server.config["CC_GUARDED"] = True
    # Any request that meets the store away (sign-in, a page's data, an export) answers 503, not 500.
    server.register_error_handler(OperationalError, lambda _exc: _store_unavailable(request.path))
    server.register_error_handler(InterfaceError, lambda _exc: _store_unavailable(request.path))

    @server.before_request
    def guard() -> BaseResponse | None:
        g.services = svc
        path = request.path
        if path.startswith(PUBLIC_PREFIXES):
            return None
        try:
            g.identity = _resolve(svc)
        except SQLAlchemyError as exc:  # the store is away: say so, not a 500 (/healthz answers 503 itself)
            log.warning("cannot check the session: %s", str(exc).splitlines()[0][:200])
            g.identity = None
            if path != "/healthz":
                return _store_unavailable(path)
        if g.identity is not None:
            if request.args.get("token") and request.method == "GET" and not path.startswith(DATA_PREFIXES):
                # A display link: keep the token in a cookie and drop it from the address bar.
                args = {k: v for k, v in request.args.items() if k != "token"}
                resp = redirect(path + ("?" + urlencode(args) if args else ""))
                resp.set_cookie(
                    DISPLAY_COOKIE,
                    request.args["token"],
                    max_age=10 * 365 * 86400,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure,
                )
                return resp
            return None
        if path == "/healthz":
            return None  # answers anonymous monitors with ok/not ok only
        if path.startswith(DATA_PREFIXES):
            resp = jsonify({"error": "sign in first"})
            resp.status_code = 401
            return resp
        return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))

    def locked(minutes: int) -> Response:
        lang = lang_of(request.args.get("lang"), svc.settings.default_lang)
        page = _login_page(lang, _safe_next(request.values.get("next")), t(lang, "sign_in_locked", minutes=minutes))
        return make_response(page)

    @server.route("/login", methods=["GET", "POST"])
    @sign_in_limits(server, svc.settings, svc.redis_url, locked)
    def login() -> BaseResponse | str:
        lang = lang_of(request.args.get("lang"), svc.settings.default_lang)
        nxt = _safe_next(request.values.get("next"))
        failed = False
        if request.method == "POST":
            now = _now()
            with svc.sessions() as s, s.begin():
                token = sign_in(
                    s,
                    request.form.get("username", "")[:64],
                    request.form.get("password", "")[:256],
                    now,
                    svc.settings.session_hours,
                )
            if token:
                resp = redirect(nxt)
                resp.set_cookie(
                    SESSION_COOKIE,
                    token,
                    max_age=int(svc.settings.session_hours * 3600),
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure,
                )
                return resp
            count_failure()
            failed = True
        return _login_page(lang, nxt, t(lang, "sign_in_failed") if failed else None)

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> BaseResponse:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with svc.sessions() as s, s.begin():
                sign_out(s, token)
        resp = redirect("/login")
        resp.delete_cookie(SESSION_COOKIE)
        return resp


def _store_unavailable(path: str) -> Response:
    """503 while the store cannot be read: JSON for data requests, a short page that retries for the rest."""
    if path.startswith(DATA_PREFIXES):
        resp = jsonify({"error": "the store is unavailable; try again shortly"})
    else:
        resp = Response(
            '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="15">'
            "<title>503</title><p>The store is unavailable; this page retries by itself.</p>",
            mimetype="text/html",
        )
    resp.status_code = 503
    resp.headers["Retry-After"] = "15"
    return resp


def _login_page(lang: str, nxt: str, error: str | None) -> str:
    err = f'<p class="login-error">{escape(error)}</p>' if error else ""
    other = "en" if lang == "zh" else "zh"
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t(lang, "title"))}</title><link rel="stylesheet" href="/assets/wall.css"></head>
<body class="login-body"><form class="login-box" method="post" action="/login?lang={lang}">
<h1>{escape(t(lang, "title"))}</h1>{err}
<label>{escape(t(lang, "username"))}<input name="username" autocomplete="username" required autofocus></label>
<label>{escape(t(lang, "password"))}<input name="password" type="password"
 autocomplete="current-password" required></label>
<input type="hidden" name="next" value="{escape(nxt)}">
<button type="submit">{escape(t(lang, "sign_in"))}</button>
<a class="login-lang" href="/login?{urlencode({"lang": other, "next": nxt})}">{escape(t(lang, "lang_switch"))}</a>
</form></body></html>"""

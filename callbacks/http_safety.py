"""What every HTTP answer gets whatever route made it: no framing by other sites, no MIME sniffing, 404 for
path traversal and unknown component files, and X-Forwarded-* believed only from configured proxies; the page's own
assets kept by the browser (their addresses change with the files)."""

from __future__ import annotations

from dash import Dash
from dash.exceptions import DependencyException
from flask import Response, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.settings import Settings

#: A CSP of frame-ancestors only: it forbids framing (clickjacking) and leaves Dash's scripts and styles alone.
FRAME_POLICY = "frame-ancestors 'none'"
HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def is_traversal(path: str) -> bool:
    """A path with '.' or '..' segments, backslashes or control characters (the path is already %-decoded)."""
    if "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return True
    return any(seg in (".", "..") for seg in path.split("/"))


def secure_headers(resp: Response) -> Response:
    """Add the anti-framing and no-sniffing headers to an answer (keeping a stricter CSP a route set)."""
    for name, value in HEADERS.items():
        resp.headers.setdefault(name, value)
    csp = resp.headers.get("Content-Security-Policy")
    if not csp:
        resp.headers["Content-Security-Policy"] = FRAME_POLICY
    elif "frame-ancestors" not in csp:
        resp.headers["Content-Security-Policy"] = f"{csp}; {FRAME_POLICY}"
    return resp


def register(app: Dash, settings: Settings) -> None:
    """Install on the app's server; call before anything else registers a request hook (this one runs first)."""
    server = app.server
    if settings.trusted_proxies:
        # Only then: a client talking to the app directly could otherwise claim any address or https.
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n)

    @server.before_request
    def refuse_traversal() -> None:
        if is_traversal(request.path):
            abort(404)

    @server.errorhandler(DependencyException)
    def unknown_component_file(_exc: DependencyException) -> tuple[str, int]:
        # Dash raises this for any /_dash-component-suites/ path it did not register: a 404, not a 500.
        return "not found", 404

    server.after_request(secure_headers)
    assets = app.get_asset_url("")

    @server.after_request
    def keep_assets(resp: Response) -> Response:
        # The page names its assets with the file's modification time (?m=…), so a changed file is a new address:
        # the browser may keep them, as Dash's own scripts, instead of asking again for each one (a round trip per
        # file, before the page's scripts run) on every page opened.
        if request.path.startswith(assets) and request.args.get("m") and resp.status_code in (200, 304):
            resp.cache_control.public = True
            resp.cache_control.max_age = 31536000
        return resp

"""Forged requests for an area outside the signed-in scope get nothing of it, and are audited.

For EVERY server callback of the app (iterated from `app.callback_map`) and every /api and /export
endpoint: users whose scope does not cover another district (a district leader of a different
district, a street leader, a grid supervisor) forge requests for that district, its street,
community, grid, appeals. Nothing of it may come back (codes, names, appeal ids, members, citizen
text) and the attempt must be in the audit log. Plus: anonymous requests, session expiry and
display-token revocation.

Cases marked xfail(strict=True) are leaks in code outside the drill-down pages (the wall screen's
callbacks and the /api/v1 routes): they flip to failures, on purpose, once those are fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from dashboard.drill import EXPORT_TABLES
from dashboard.ids_drill import FILTER_NAMES, FILTER_TYPE
from dashboard.scopes import Scope
from data_access.accounts.sessions import revoke_display_token, sign_in
from data_access.store.models import LoginSession
from tests.drill_support import (
    OTHER_MARK,
    PASSWORD,
    display_token,
    drill_world,
    refusals,
)

OUTSIDERS = ("dist", "street", "grids")  # none of them covers the other district
WALL_CALLBACKS = ("route", "pick", "show_view", "tick", "drawer")
DRILL_CALLBACKS = (
    "filters_to_url",
    "map_down",
    "drill_tick",
    "below_fold",
    "rows_red",
    "rows_appeals",
    "rows_members",
)
XFAIL_WALL: dict[str, str] = {}  # no known leak left


def _world(city, gazetteer, folder: Path, users: tuple[str, ...] | None = None) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The sweep is about the server's checks, not SQL dialects: one backend (SQLite) keeps CI short
    (the drill-down queries run on both in tests/integration/test_drill.py)."""
    with drill_world(city, gazetteer, folder, users) as w:
        o = w["sc"]["other"]
        names = [
            city.districts.set_index("code").loc[o["district"], "name"],
            city.streets.set_index("code").loc[o["street"], "name"],
            city.communities.set_index("code").loc[o["community"], "name"],
            city.grids.set_index("code").loc[o["grid"], "name"],
        ]
        markers = [
            o["district"],
            o["street"],
            o["community"],
            o["grid"],
            OTHER_MARK,
            o["member"],
            o["member_name"],
            *names,
        ]
        yield {**w, "o": o, "markers": markers}


@pytest.fixture(scope="module")
def world(city, gazetteer, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One world for the module's forged requests: they only read (and add refusals to the audit log, which each
    test counts before and after its own request)."""
    yield from _world(city, gazetteer, tmp_path_factory.mktemp("scope"))


@pytest.fixture()
def own_world(city, gazetteer, tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A world of its own, for a test that ends sessions or revokes tokens (one user: the district leader)."""
    yield from _world(city, gazetteer, tmp_path, ("dist",))


def _client(world: dict[str, Any], user: str | None) -> Any:
    c = world["app"].server.test_client()
    if user:
        c.set_cookie("cc_session", world["tokens"][user])
    return c


def _leaks(world: dict[str, Any], request_text: str, response_text: str) -> list[str]:
    """Markers of the other area in the answer that the forger did not send themselves."""
    return [m for m in world["markers"] if m not in request_text and m in response_text]


# -- forged callback requests -------------------------------------------------------------------
def _places(o: dict[str, str]) -> list[tuple[str, str, str]]:
    """(pathname, search, a sub-area code to click) of the other area at every level, wall views too."""
    appeal = f"X0-{OTHER_MARK}"
    return [
        ("/area", "", o["district"]),
        (f"/area/d/{o['district']}", "", o["street"]),
        (f"/area/s/{o['street']}", "", o["community"]),
        (f"/area/c/{o['community']}", "", o["grid"]),
        (f"/area/g/{o['grid']}", "", o["grid"]),
        (f"/area/a/{appeal}", "", o["grid"]),
        ("/wall", f"?view=d:{o['district']}", o["district"]),
        ("/", f"?view=s:{o['street']}", o["street"]),
        ("/wall", "", o["district"]),
    ]


def _value(i: dict[str, Any], place: tuple[str, str, str], o: dict[str, str]) -> Any:
    """A forged value for one input or state of a callback."""
    pid, prop = i["id"], i["property"]
    path, search, code = place
    table = {
        ("url", "pathname"): path,
        ("url", "search"): search,
        ("wall-view-pick", "value"): f"d:{o['district']}",
        ("wall-view", "data"): f"s:{o['street']}",
        ("wall-tick", "n_intervals"): 1,
        ("wall-shown", "data"): None,
        ("wall-detail-close", "n_clicks"): 0,
        ("wall-communities", "clickData"): {"type": "Feature", "properties": {"id": o["community"]}},
        ("drill-sub-layer", "clickData"): {"type": "Feature", "properties": {"code": code}},
        ("drill-tick", "n_intervals"): 1,
        ("drill-shown", "data"): None,
        ("drill-below-fold", "data"): 1,
        ("drill-rows-version", "data"): None,
        **{
            (f"drill-grid-{g}", "getRowsRequest"): {"startRow": 0, "endRow": 50, "sortModel": [], "filterModel": {}}
            for g in ("red", "appeals", "members")
        },
    }
    if pid.startswith("{"):
        pattern = json.loads(pid)
        if pattern.get("type") == "wall-appeal":
            return [{"id": {"appeal": f"X0-{OTHER_MARK}", "type": "wall-appeal"}, "property": prop, "value": 1}]
        if pattern.get("type") == FILTER_TYPE:
            values = {"window": "7d", "fig": "red"}
            return [
                {"id": {"name": n, "type": FILTER_TYPE}, "property": prop, "value": values.get(n)} for n in FILTER_NAMES
            ]
    if (pid, prop) not in table:
        raise AssertionError(f"no forged value for input {pid}.{prop}: add one so this callback is swept too")
    return table[(pid, prop)]


def _bodies(key: str, entry: dict[str, Any], o: dict[str, str]) -> list[dict[str, Any]]:
    """Forged /_dash-update-component bodies: every place x every input as the one that changed."""
    outs = entry["output"]
    outs = outs if isinstance(outs, list) else [outs]
    outputs = [
        {"id": x.component_id, "property": x.component_property + (key[key.index("@") :] if "@" in key else "")}
        for x in outs
    ]
    bodies = []
    for place in _places(o):
        inputs = [
            _value(i, place, o) if i["id"].startswith("{") else {**i, "value": _value(i, place, o)}
            for i in entry["inputs"]
        ]
        state = [{**s, "value": _value(s, place, o)} for s in entry["state"]]
        for changed in inputs:
            first = changed[0] if isinstance(changed, list) else changed
            cid = (
                first["id"]
                if isinstance(first["id"], str)
                else json.dumps(first["id"], sort_keys=True, separators=(",", ":"))
            )
            bodies.append(
                {
                    "output": key,
                    "outputs": outputs if len(outputs) > 1 else outputs[0],
                    "inputs": inputs,
                    "state": state,
                    "changedPropIds": [f"{cid}.{first['property']}"],
                }
            )
    return bodies


def _server_callbacks(app: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    return {e["callback"].__name__: (k, e) for k, e in app.callback_map.items() if e.get("callback")}


def test_every_callback_is_swept(world) -> None:  # type: ignore[no-untyped-def]
    assert sorted(_server_callbacks(world["app"])) == sorted(WALL_CALLBACKS + DRILL_CALLBACKS)


def _cases() -> list[Any]:
    out = []
    for name in WALL_CALLBACKS + DRILL_CALLBACKS:
        for user in OUTSIDERS:
            marks = [pytest.mark.xfail(strict=True, reason=XFAIL_WALL[name])] if name in XFAIL_WALL else []
            out.append(pytest.param(name, user, marks=marks, id=f"{name}-{user}"))
    return out


@pytest.mark.parametrize("name,user", _cases())
def test_forged_callback_gets_nothing(world, name: str, user: str) -> None:  # type: ignore[no-untyped-def]
    key, entry = _server_callbacks(world["app"])[name]
    c = _client(world, user)
    for body in _bodies(key, entry, world["o"]):
        before = refusals(world["sessions"])
        req = json.dumps(body, ensure_ascii=False)
        r = c.post("/_dash-update-component", json=body)
        text = r.get_data(as_text=True)
        assert r.status_code in (200, 204), (r.status_code, text[:300])
        assert _leaks(world, req, text) == [], (body["inputs"], text[:500])
        if any(
            m in _used(body, url=name != "drawer") for m in world["markers"]
        ):  # it named the other area: refused and audited
            assert refusals(world["sessions"]) > before, f"not audited: {req[:300]}"


def _used(body: dict[str, Any], url: bool = True) -> str:
    """What of a forged request the server acts on: the input that changed, and the URL where the area
    comes from it (the wall's drawer reads only the language from the URL)."""
    changed = body["changedPropIds"][0]
    parts = []
    for i in body["inputs"] + body["state"]:
        for x in i if isinstance(i, list) else [i]:
            cid = x["id"] if isinstance(x["id"], str) else json.dumps(x["id"], sort_keys=True, separators=(",", ":"))
            if f"{cid}.{x['property']}" == changed or (url and x["id"] == "url"):
                parts.append(json.dumps(x, ensure_ascii=False))
    return " ".join(parts)


def test_own_area_still_answers(world) -> None:  # type: ignore[no-untyped-def]
    """The sweep is not vacuous: the same callbacks answer inside the scope."""
    sc = world["sc"]
    key, entry = _server_callbacks(world["app"])["filters_to_url"]
    body = _bodies(key, entry, world["o"])[1]
    body["state"][0]["value"] = f"/area/d/{sc['district']}"
    before = refusals(world["sessions"])
    r = _client(world, "dist").post("/_dash-update-component", json=body)
    assert r.status_code == 200 and "window=7d" in r.get_data(as_text=True)
    assert refusals(world["sessions"]) == before
    r = _client(world, "dist").get(f"/export/red.csv?area=/area/d/{sc['district']}")
    assert r.status_code == 200 and "XSS1" in r.get_data(as_text=True)


# -- endpoints ----------------------------------------------------------------------------------
def _export_urls(o: dict[str, str]) -> list[str]:
    areas = [
        f"/area/d/{o['district']}",
        f"/area/s/{o['street']}",
        f"/area/c/{o['community']}",
        f"/area/g/{o['grid']}",
        "/area",
    ]
    urls = [
        f"/export/{t}.{fmt}?area={a}"
        for t in EXPORT_TABLES
        if t != "timeline"
        for a in areas
        for fmt in ("csv", "xlsx")
    ]
    return urls + [f"/export/timeline.{fmt}?area=/area/a/X0-{OTHER_MARK}" for fmt in ("csv", "xlsx")]


def _api_cases() -> list[Any]:
    """(url template, reason if it leaks today) of the read API; {d} {s} {a} are the other area's."""
    return [
        (u, None)
        for u in (
            "/api/v1/appeals/{a}",
            "/api/v1/districts",
            "/api/v1/streets",
            "/api/v1/communities",
            "/api/v1/grids?district={d}",
            "/api/v1/wall/communities",
            "/api/v1/summary?view=d:{d}",
            "/api/v1/alerts?view=d:{d}",
            "/api/v1/alerts",
            "/api/v1/members?view=s:{s}",
            "/api/v1/hotspots?view=d:{d}",
            "/api/v1/rankings?view=d:{d}",
            "/api/v1/rankings?level=district",
            "/healthz",
        )
    ]


@pytest.mark.parametrize("user", OUTSIDERS)
def test_forged_export_gets_nothing(world, user: str) -> None:  # type: ignore[no-untyped-def]
    c = _client(world, user)
    for url in _export_urls(world["o"]):
        before = refusals(world["sessions"])
        r = c.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert _leaks(world, url, r.get_data(as_text=True)) == [], url
        assert refusals(world["sessions"]) > before, f"not audited: {url}"


@pytest.mark.parametrize("user", OUTSIDERS)
@pytest.mark.parametrize(
    "template,why",
    [
        pytest.param(
            u,
            w,
            marks=[pytest.mark.xfail(strict=True, reason=w)] if w else [],
            id=u.split("?")[0][1:] + ("?" + u.split("?")[1].split("=")[0] if "?" in u else ""),
        )
        for u, w in _api_cases()
    ],
)
def test_forged_api_gets_nothing(world, user: str, template: str, why: str | None) -> None:  # type: ignore[no-untyped-def]
    o = world["o"]
    url = template.format(d=o["district"], s=o["street"], a=f"X0-{OTHER_MARK}")
    before = refusals(world["sessions"])
    r = _client(world, user).get(url)
    text = r.get_data(as_text=True)
    assert _leaks(world, url, text) == [], text[:300]
    if "{" in template:  # asked for a named outside area: refused, and audited
        assert r.status_code in (403, 404)
        assert refusals(world["sessions"]) > before


# -- anonymous, expiry, revocation ----------------------------------------------------------------
def test_anonymous_gets_nothing(world) -> None:  # type: ignore[no-untyped-def]
    c = _client(world, None)
    for name, (key, entry) in _server_callbacks(world["app"]).items():
        for body in _bodies(key, entry, world["o"])[:3]:
            r = c.post("/_dash-update-component", json=body)
            assert r.status_code == 401, name
            assert _leaks(world, json.dumps(body, ensure_ascii=False), r.get_data(as_text=True)) == []
    o = world["o"]
    for url in (
        _export_urls(o)[:6]
        + [t.format(d=o["district"], s=o["street"], a="A") for t, _ in _api_cases() if t != "/healthz"]
        + [f"/area/d/{o['district']}", "/area", "/wall"]
    ):
        r = c.get(url)
        assert r.status_code in (302, 401), url
        if r.status_code == 302:
            assert r.headers["Location"].startswith("/login")
        assert _leaks(world, url, r.get_data(as_text=True)) == []
    assert c.get("/healthz").get_json().keys() <= {"ok"}


def _own_export(world: dict[str, Any]) -> str:
    return f"/export/red.csv?area=/area/d/{world['sc']['district']}"


def test_session_expiry(own_world) -> None:  # type: ignore[no-untyped-def]
    world = own_world
    sessions, svc = world["sessions"], world["svc"]
    long_ago = datetime.now(UTC) - timedelta(hours=svc.settings.session_hours + 1)
    with sessions() as s, s.begin():
        stale = sign_in(s, "dist", PASSWORD, long_ago, svc.settings.session_hours)
    c = world["app"].server.test_client()
    c.set_cookie("cc_session", stale)
    r = c.get(_own_export(world))
    assert r.status_code == 302 and "XSS1" not in r.get_data(as_text=True)
    # A live session works, until its row expires.
    c = _client(world, "dist")
    assert "XSS1" in c.get(_own_export(world)).get_data(as_text=True)
    with sessions() as s, s.begin():
        s.execute(update(LoginSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    r = c.get(_own_export(world))
    assert r.status_code == 302 and "XSS1" not in r.get_data(as_text=True)
    body = _bodies(*_server_callbacks(world["app"])["filters_to_url"], world["o"])[0]
    assert c.post("/_dash-update-component", json=body).status_code == 401


def test_display_token_revocation(own_world) -> None:  # type: ignore[no-untyped-def]
    world = own_world
    sessions, sc = world["sessions"], world["sc"]
    tid, token = display_token(sessions, Scope("district_leader", district=sc["district"]))
    c = world["app"].server.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert "XSS1" in c.get(_own_export(world), headers=headers).get_data(as_text=True)
    outside = c.get(f"/export/red.csv?area=/area/d/{world['o']['district']}", headers=headers)
    assert outside.status_code == 404 and OTHER_MARK not in outside.get_data(as_text=True)
    with sessions() as s, s.begin():
        revoke_display_token(s, tid, datetime.now(UTC))
    r = c.get(_own_export(world), headers=headers)
    assert r.status_code == 302 and "XSS1" not in r.get_data(as_text=True)
    body = _bodies(*_server_callbacks(world["app"])["filters_to_url"], world["o"])[0]
    assert c.post("/_dash-update-component", json=body, headers=headers).status_code == 401

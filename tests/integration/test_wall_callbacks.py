"""The wall's callbacks called directly: the tick sends only what changed, banners, the drawer, routes, the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from dash import Patch, no_update
from sqlalchemy.orm import sessionmaker

from callbacks.wall import TICK_KEYS, make_tick
from callbacks.wall_groups import group_layer
from dashboard import i18n, ids
from dashboard.same_event import rules_of
from dashboard.scopes import Scope
from dashboard.wall import View, WallState, tour_stop, tour_stops
from data_access.same_event.grouping import group_all
from data_access.store.engine import make_engine
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from layouts.panels import red_table
from tests.conftest import REDIS_URL, acting_as, display_token
from tests.wall_support import (
    XSS,
    created,
    put_events,
    put_presence,
    scenario,
    services,
)


def _out(values: list[Any]) -> dict[str, Any]:
    return dict(zip(TICK_KEYS + ["shown", "view"], values))


@pytest.fixture(autouse=True)
def _command_center():  # type: ignore[no-untyped-def]
    """Callbacks run inside a request whose identity the guard resolved: here the command center's."""
    with acting_as(Scope("command_center")):
        yield


@pytest.fixture()
def wall(store, city, settings, gazetteer):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    _, sessions, _ = store
    put_events(sessions, sc["texts"], settings, gazetteer)
    put_presence(sessions, sc["beats"], now)
    ctx = WallContext(settings, index_of(city))
    svc = SimpleNamespace(settings=settings, sessions=sessions, reads=sessions)
    return svc, ctx, sc


def test_wall_tick_first_then_only_changes(wall, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    svc, ctx, sc = wall
    tick = make_tick(svc, ctx)
    first = _out(tick(1, "/wall", "", None, "city"))
    assert first["fig:open-red"] == "2" and first["fig:open-total"] == "5" and first["fig:members-sos"] == "1"
    assert first["pts"] == {"pts": {sc["c1"]: [3, 2], sc["c2"]: [2, 2]}}
    assert first["banner"] == [] and first["body-class"] == "wall-body"
    assert first["sos-class"] == "sos-alert on"
    second = _out(tick(2, "/wall", "", first["shown"], "city"))
    unchanged = [k for k, v in second.items() if v is no_update]
    assert "fig:open-red" in unchanged and "pts" in unchanged and "list:red-list" in unchanged
    assert second["view"] is no_update
    # A new appeal in c2: its count changes in a Patch of the hideout, and the open figure changes.
    put_events(svc.sessions, [created("N1", datetime.now(UTC), sc["c2"])], settings, gazetteer)
    third = _out(tick(3, "/wall", "", second["shown"], "city"))
    assert third["fig:open-total"] == "6" and third["fig:open-red"] is no_update
    assert isinstance(third["pts"], Patch)
    ops = third["pts"].to_plotly_json()["operations"]
    assert ops == [{"operation": "Assign", "location": ["pts", sc["c2"]], "params": {"value": [3, 2]}}]


def test_wall_tick_unknown_version_gets_everything(wall) -> None:  # type: ignore[no-untyped-def]
    svc, ctx, _ = wall
    tick = make_tick(svc, ctx)
    out = _out(tick(1, "/wall", "?lang=en", {"v": "not-a-version"}, "city"))
    assert all(v is not no_update for k, v in out.items() if k != "view")


def test_wall_tick_redis_down_banner(wall) -> None:  # type: ignore[no-untyped-def]
    svc, ctx, _ = wall
    ctx.redis_ok = lambda: False
    out = _out(make_tick(svc, ctx)(1, "/wall", "?lang=en", None, "city"))
    assert out["banner"] == [i18n.t("en", "redis_down")] and "on" in out["banner-class"]
    assert out["body-class"] == "wall-body stale"
    assert out["fig:open-red"] == "2"  # figures shown, greyed


def test_wall_tick_store_down_keeps_last_figures_greyed(wall) -> None:  # type: ignore[no-untyped-def]
    svc, ctx, _ = wall
    make_tick(svc, ctx)(1, "/wall", "", None, "city")  # a good tick first
    down = sessionmaker(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none"))
    dead: Any = SimpleNamespace(settings=svc.settings, sessions=down, reads=down)  # the fields make_tick reads
    out = _out(make_tick(dead, ctx)(2, "/wall", "?lang=en", None, "city"))
    assert out["banner"][0].startswith("Store unreachable: showing figures from")
    assert out["body-class"] == "wall-body stale" and out["fig:open-red"] == "2"


def test_wall_tick_feed_stale_banner(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    _, sessions, _ = store
    put_events(
        sessions,
        [created("S1", now - timedelta(hours=1), city.communities.iloc[0]["code"])],
        settings,
        gazetteer,
        received=now - timedelta(seconds=settings.feed_stale_s + 60),
    )
    svc: Any = SimpleNamespace(settings=settings, sessions=sessions, reads=sessions)  # the fields make_tick reads
    out = _out(make_tick(svc, WallContext(settings, index_of(city)))(1, "/wall", "?lang=en", None, "city"))
    assert out["banner"][0].startswith("Feed stopped: no event since")
    assert out["body-class"] == "wall-body stale" and out["fig:open-total"] == "1"


def test_wall_tour_moves_view(wall) -> None:  # type: ignore[no-untyped-def]
    svc, ctx, sc = wall
    out = _out(make_tick(svc, ctx)(1, "/wall", "?tour=5", None, "city"))
    stops = [View()] + [View("district", sc["district"])] + [View("street", sc["street"])]
    assert out["view"] in (no_update, *(v.key for v in stops[1:]))


def test_tour_stop_is_a_function_of_time() -> None:
    stops = tour_stops(["110105"], ["110105001"])
    assert [tour_stop(stops, t, 30).key for t in (0, 29, 30, 60, 90)] == [
        "city",
        "city",
        "d:110105",
        "s:110105001",
        "city",
    ]


@pytest.mark.parametrize(
    "path, search, expect",
    [
        ("/wall", "", WallState("zh", View(), 0, True)),
        ("/", "?lang=en&view=d:110105", WallState("en", View("district", "110105"), 0, False)),
        ("/wall", "?tour=1", WallState("zh", View(), 30, True)),
        ("/wall", "?tour=2&lang=xx&view=<script>", WallState("zh", View(), 5, True)),
    ],
)
def test_wall_state_from_url(path: str, search: str, expect: WallState) -> None:
    assert WallState.from_url(path, search, "zh", 30) == expect


def test_i18n_complete() -> None:
    for k in i18n.keys():  # noqa: SIM118 - the module's list of message keys, not a dict
        assert i18n.t("zh", k) and i18n.t("en", k)
    for name in ids.FIGURES + ids.LISTS:
        assert ids.metric(name).startswith("m-")
    with pytest.raises(KeyError):
        ids.metric("no-such-figure")


def test_citizen_text_is_a_text_child() -> None:
    row = {"id": "X", "unit_name": "u", "place": "p", "category": "c", "late_s": 60, "no_member": False, "summary": XSS}
    html_json = str(red_table([row], "zh").to_plotly_json())
    assert "onerror" not in html_json  # the red list never carries citizen text
    from layouts.tick import red_points

    feat = red_points([{**row, "categories": ["c"], "lonlat": [116.4, 39.9]}], "en")["features"][0]["properties"]
    assert "<img" not in feat["popup"] and "&lt;img src=x onerror=" in feat["popup"]
    assert "<script" not in feat["tooltip"] and "&amp;amp;" in feat["popup"]


def test_wall_api_same_figures(store, city, settings, gazetteer, rds) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    _, sessions, _ = store
    put_events(sessions, sc["texts"], settings, gazetteer)
    put_presence(sessions, sc["beats"], now)
    app = create_app(services(settings, store, city, rds, REDIS_URL))
    client = app.server.test_client()
    assert client.get("/api/v1/summary").status_code == 401  # anonymous: nothing
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {display_token(sessions)}"
    s = client.get("/api/v1/summary").get_json()
    assert s["summary"]["red"] == 2 and s["summary"]["open"] == 5 and s["status"]["redis"] is True
    a = client.get(f"/api/v1/alerts?view=s:{sc['street']}").get_json()
    assert [r["id"] for r in a["alerts"]["red"]] == ["A", "B"] and a["alerts"]["red"][1]["summary"] == XSS
    m = client.get("/api/v1/members").get_json()
    assert m["members"]["sos"] == 1
    r = client.get("/api/v1/rankings?level=department").get_json()
    assert r["rankings"]["level"] == "department" and r["rankings"]["definition"]["weights"]["satisfaction"] == 0.4
    assert client.get("/api/v1/rankings?level=x").status_code == 400
    assert client.get("/api/v1/rankings?month=2026-13").status_code == 400
    assert client.get("/api/v1/summary?view=d:999").status_code == 400
    assert client.get("/api/v1/hotspots").get_json()["hotspots"] == []
    resp = client.get("/api/v1/wall/communities")
    pts = resp.get_json()
    assert len(pts["features"]) == len(city.communities)
    assert resp.headers["Cache-Control"].startswith("private")  # cut to the scope: no shared cache may keep it


def test_wall_map_shows_groups_as_one_marker_each(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Appeals about one event are one marker with their count on the wall map, within the signed-in scope."""
    _, sessions, _ = store
    refs = index_of(city)
    comm = sorted(refs.community_street)[0]
    district = refs.community_district[comm]
    elsewhere = next(d for d in sorted(refs.district_name) if d != district)
    now = datetime.now(UTC).replace(microsecond=0)
    texts = [created(f"G{k}", now - timedelta(hours=k + 1), comm, summary="路灯不亮<b>x</b>") for k in range(3)]
    put_events(sessions, texts, settings, gazetteer)
    group_all(sessions, rules_of(settings), settings.zone, 500)
    svc: Any = SimpleNamespace(settings=settings, sessions=sessions, reads=sessions)  # what it reads of Services
    ctx = WallContext(settings, refs)
    city_map = group_layer(svc, ctx, "")
    (marker,) = city_map["features"]
    assert marker["properties"]["count"] == 3 and "<b>" not in marker["properties"]["tooltip"]
    with acting_as(Scope("district_leader", district=district)):
        assert len(group_layer(svc, ctx, f"?view=d:{district}")["features"]) == 1
    with acting_as(Scope("district_leader", district=elsewhere)):
        assert group_layer(svc, ctx, "")["features"] == []  # its home view: nothing of the other district
    # Only groups of at least BURST_APPEALS: a city's many pairs would bury the wall map's hotspots.
    fewer: Any = SimpleNamespace(settings=settings.model_copy(update={"burst_appeals": 4}), reads=sessions)
    assert group_layer(fewer, WallContext(settings, refs), "")["features"] == []

"""The wall in headless Chromium (dash_duo): renders, follows Redis, says when the feed stops, never runs citizen text.

Run: DASH_TEST_CHROMEPATH=/usr/bin/chromium pytest --headless tests/test_wall_browser.py
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dash.testing.wait import until
from selenium.common.exceptions import StaleElementReferenceException

from app import create_app
from data_access.intake.consumer import IngestWorker
from data_access.projection.projector import Projector
from tests.conftest import REDIS_URL, TZ, display_token, make_store
from tests.wall_support import (
    OVERFLOW_JS,
    RANKING_FIGURES,
    SIZES,
    XSS,
    created,
    put_events,
    put_presence,
    ranked_streets,
    scenario,
    services,
)

METRIC = '[data-metric="{}"]'
SHOTS = Path(os.environ.get("WALL_SHOTS", "/tmp/wall-shots"))


@pytest.fixture()
def wall_store(tmp_path: Path, city, settings, gazetteer) -> Iterator[tuple[Any, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    with make_store("sqlite", tmp_path, city) as st:
        now = datetime.now(UTC).replace(microsecond=0)
        sc = scenario(city, now)
        put_events(st[1], sc["texts"], settings, gazetteer)
        put_presence(st[1], sc["beats"], now)
        yield st, sc


def _start(dash_duo, settings, st, city, rds, path: str = "/wall?lang=en", **change: Any):  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={"refresh_ms": 1000, **change})
    svc = services(s, st, city, rds, REDIS_URL)
    app = create_app(svc)
    dash_duo.start_server(app, navigate=False)  # "/" would show the sign-in page
    dash_duo.driver.set_window_size(1920, 1080)  # the wall's size; hidden (clipped) text reads as empty
    # A display link: the token becomes a cookie and leaves the address bar.
    token = display_token(st[1])
    dash_duo.driver.get(dash_duo.server.url + path + ("&" if "?" in path else "?") + f"token={token}")
    return svc


def test_wall001_renders_demo_city(dash_duo, wall_store, settings, city, rds) -> None:  # type: ignore[no-untyped-def]
    st, _sc = wall_store
    _start(dash_duo, settings, st, city, rds)
    dash_duo.wait_for_text_to_equal(METRIC.format("open-red"), "2", timeout=20)
    dash_duo.wait_for_text_to_equal(METRIC.format("open-total"), "5")
    dash_duo.wait_for_text_to_equal(METRIC.format("turning-red"), "1")
    dash_duo.wait_for_text_to_equal(METRIC.format("members-sos"), "1")
    dash_duo.wait_for_element(".sos-alert.on")
    dash_duo.wait_for_contains_text(".wall-title", "Command Center")
    dash_duo.wait_for_text_to_equal(".wall-city", city.name)
    # Boundaries carry the map: district and street polygons drawn, no tile layer by default.
    dash_duo.wait_for_element(".leaflet-overlay-pane path.leaflet-interactive, .leaflet-overlay-pane path")
    paths = dash_duo.find_elements(".leaflet-overlay-pane path")
    assert len(paths) >= len(city.districts)
    assert dash_duo.find_elements(".leaflet-tile") == []
    # /wall is kiosk-clean: no picker, no language link, no zoom buttons.
    assert dash_duo.find_elements(".wall-controls") == [] and dash_duo.find_elements(".leaflet-control-zoom") == []
    rows = dash_duo.find_elements(f"{METRIC.format('red-list')} tr[data-appeal]")
    assert [r.get_attribute("data-appeal") for r in rows] == ["A", "B"]


def test_wall002_redis_event_changes_figure(dash_duo, wall_store, settings, city, rds, gazetteer) -> None:  # type: ignore[no-untyped-def]
    st, sc = wall_store
    engine, sessions, _ = st
    projector = Projector(settings, sessions)
    worker = IngestWorker(settings, rds, sessions, engine, gazetteer, consumer="wall-test", stored=projector.wake.set)
    worker.ensure_groups()
    stop = threading.Event()
    threads = [threading.Thread(target=x.run, args=(stop,), daemon=True) for x in (worker, projector)]
    for t in threads:
        t.start()
    try:
        _start(dash_duo, settings, st, city, rds)
        dash_duo.wait_for_text_to_equal(METRIC.format("open-total"), "5", timeout=20)
        rds.xadd(settings.stream("events"), {"event": created("NEW-1", datetime.now(UTC), sc["c2"])})
        dash_duo.wait_for_text_to_equal(METRIC.format("open-total"), "6", timeout=20)
        dash_duo.wait_for_text_to_equal(METRIC.format("open-green"), "2")
        assert dash_duo.find_element(METRIC.format("open-red")).text == "2"  # only the right figures moved
        member = city.members[city.members["community"] == sc["c2"]].iloc[0]["id"]
        beat = {"v": 1, "member": member, "at": datetime.now(UTC).astimezone(TZ).isoformat(), "state": "sos"}
        rds.xadd(settings.stream("presence"), {"event": json.dumps(beat)})
        dash_duo.wait_for_text_to_equal(METRIC.format("members-sos"), "2", timeout=20)
        dash_duo.wait_for_contains_text(METRIC.format("sos-alert"), city.members.set_index("id").loc[member, "name"])
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def test_wall003_feed_stopped_shows_banner(dash_duo, wall_store, settings, city, rds) -> None:  # type: ignore[no-untyped-def]
    st, _sc = wall_store
    _start(dash_duo, settings, st, city, rds, feed_stale_s=3)
    # The scenario's events were received just now: fresh at first, then no event for 3 s.
    dash_duo.wait_for_text_to_equal(METRIC.format("open-red"), "2", timeout=20)
    dash_duo.wait_for_contains_text(METRIC.format("banner"), "Feed stopped: no event since", timeout=20)
    dash_duo.wait_for_element(".wall-body.stale")
    dash_duo.wait_for_element(".wall-banner.on")
    # The banner came after the map was drawn: the map fills what is left, inside the screen, and the city is drawn
    # inside the map (Leaflet told of its smaller box and the view fitted again), not cut at the bottom.
    until(lambda: _map_fits(dash_duo.driver), timeout=20, msg="the map or the city on it cut at the bottom")


def _map_fits(driver: Any) -> bool:
    """The wall map's box inside the viewport, and every path drawn on it (boundaries, points) inside its box."""
    return bool(
        driver.execute_script(
            "var m = document.querySelector('.wall-map'); if (!m) { return false; }"
            "var r = m.getBoundingClientRect(), lo = Infinity, hi = -Infinity;"
            "m.querySelectorAll('.leaflet-overlay-pane path').forEach(function (p) {"
            "  var b = p.getBoundingClientRect();"
            "  if (b.height > 0) { lo = Math.min(lo, b.top); hi = Math.max(hi, b.bottom); }"
            "});"
            "return lo < hi && r.bottom <= window.innerHeight && lo >= r.top - 8 && hi <= r.bottom + 8;"
        )
    )


def test_wall004_citizen_text_never_runs(dash_duo, wall_store, settings, city, rds) -> None:  # type: ignore[no-untyped-def]
    st, _sc = wall_store
    _start(dash_duo, settings, st, city, rds)
    dash_duo.wait_for_text_to_equal(METRIC.format("open-red"), "2", timeout=20)
    driver = dash_duo.driver
    # The red appeals on the map: white-edged circles; B's popup and tooltip carry the citizen's HTML.
    dash_duo.wait_for_element('path[stroke="#ffffff"]')
    assert len(dash_duo.find_elements('path[stroke="#ffffff"]')) == 2
    texts: list[str] = []
    for i in range(2):
        # A tick may draw the markers anew between finding one and reading its popup: open and read it again then.
        def opened(i: int = i) -> list[str] | None:
            try:
                m = dash_duo.find_elements('path[stroke="#ffffff"]')[i]
                for kind in ("mouseover", "click"):
                    driver.execute_script(
                        f"arguments[0].dispatchEvent(new MouseEvent('{kind}', {{bubbles: true}}));", m
                    )
            except (IndexError, StaleElementReferenceException):
                return None
            got: list[str] | None = driver.execute_script(
                "const p = document.querySelector('.leaflet-popup-content');"
                "return p ? [p.innerText, ...[...document.querySelectorAll('.leaflet-tooltip')].map(t => t.innerText)]"
                " : null;"
            )
            return got

        texts += until(opened, timeout=20)
    joined = "\n".join(texts)
    assert '<img src=x onerror="window.__xss=1">' in joined  # shown as text, in popup and tooltip
    assert dash_duo.find_elements(".leaflet-popup-content img") == []
    assert dash_duo.find_elements(".leaflet-tooltip img") == []
    # Tables: open B's timeline from the red list; its words are text, not markup.
    driver.execute_script("document.querySelector('tr[data-appeal=\"B\"]').click();")
    dash_duo.wait_for_contains_text('[data-field="summary"]', "<script>window.__xss=2</script>", timeout=20)
    assert dash_duo.find_element('[data-field="summary"]').text == XSS
    assert dash_duo.find_elements(".detail img") == []
    assert driver.execute_script("return window.__xss === undefined;")


def test_wall005_ranking_figures_whole_at_three_sizes(dash_duo, wall_store, settings, city, rds, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """The street ranking's rates at their widest ("100%"), its ranks, scores and changes, shown whole at 1366×768
    (where they were cut to "10…"), 1920×1080 and 3840×2160: with every other figure on the Chinese wall (the
    default), alone on the English one."""
    st, _sc = wall_store
    texts, streets = ranked_streets(city, datetime.now(UTC).replace(microsecond=0))
    put_events(st[1], texts, settings, gazetteer)
    _start(dash_duo, settings, st, city, rds, path="/wall")
    d = dash_duo.driver
    for path, checked in (("/wall", None), ("/wall?lang=en", RANKING_FIGURES)):
        d.set_window_size(1920, 1080)
        d.get(dash_duo.server.url + path)
        until(lambda: len(dash_duo.find_elements(f"{METRIC.format('ranking-table')} tr[data-unit]")) == 2, timeout=30)
        assert {r.get_attribute("data-unit") for r in dash_duo.find_elements("tr[data-unit]")} == set(streets)
        shown = d.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);", RANKING_FIGURES
        )
        assert shown.count("100%") == 6, shown
        for w, h in SIZES:
            d.set_window_size(w, h)
            until(lambda w=w: d.execute_script("return window.innerWidth;") == w, timeout=10)
            SHOTS.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(SHOTS / f"ranking-{w}x{h}-{'en' if checked else 'zh'}.png"))
            assert d.execute_script(OVERFLOW_JS, checked) == [], (w, h, path)

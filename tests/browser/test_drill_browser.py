"""The drill-down pages in real headless Chromium: down the hierarchy and back up, filters in the URL, XSS; time to
drawn per level (recorded, not asserted), figures that fit their boxes at three screen sizes, a page that follows
the store, an appeal page that follows events arriving through Redis.

Run: DASH_TEST_CHROMEPATH=/usr/bin/chromium pytest tests/test_drill_browser.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dash.testing.wait import until

from benchmarks.drill_pages import DRAWN_JS, RESPONSES_JS
from data_access.intake.consumer import IngestWorker
from layouts.drill_tables import fig
from tests.conftest import ev
from tests.drill_support import XSS, drill_app, drill_world
from tests.ingest_support import drain, push
from tests.wall_support import OVERFLOW_JS, SIZES, created, put_events

SHOTS = Path(os.environ.get("DRILL_SHOTS", "/tmp/drill-shots"))


@pytest.fixture(scope="module")
def env(city, gazetteer, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One store and its accounts for the module: the pages only read it."""
    with drill_world(city, gazetteer, tmp_path_factory.mktemp("drill"), ("admin", "street", "grids"), app=False) as w:
        yield w


def _open(dash_duo, env: dict[str, Any], user: str, path: str) -> None:  # type: ignore[no-untyped-def]
    dash_duo.start_server(drill_app(env["svc"]), navigate=False)  # an app per server: each test starts its own
    dash_duo.driver.set_window_size(1500, 1100)
    dash_duo.driver.get(dash_duo.server.url.rstrip("/") + "/login")
    dash_duo.driver.add_cookie({"name": "cc_session", "value": env["tokens"][user], "path": "/"})
    dash_duo.driver.get(dash_duo.server.url.rstrip("/") + path)


def _shot(dash_duo, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def _here(dash_duo) -> str:  # type: ignore[no-untyped-def]
    return dash_duo.driver.execute_script("return location.pathname + location.search;")


def _text(dash_duo, selector: str) -> str | None:  # type: ignore[no-untyped-def]
    return dash_duo.driver.execute_script(  # read in one go: no stale element while a page re-renders
        "var e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector
    )


def _wait_text(dash_duo, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    try:
        until(lambda: _text(dash_duo, selector) == text, timeout=20, msg=f"{selector} never read {text!r}")
    except Exception:
        _shot(dash_duo, "failed")
        raise


def _click(dash_duo, selector: str) -> None:  # type: ignore[no-untyped-def]
    dash_duo.wait_for_element(selector)
    until(
        lambda: dash_duo.driver.execute_script(
            "var e = document.querySelector(arguments[0]); if (!e) return false; e.click(); return true;", selector
        ),
        timeout=20,
    )


def _click_area(dash_duo, code: str) -> None:  # type: ignore[no-untyped-def]
    _click(dash_duo, f'#drill-table-ranking tr[data-area="{code}"] a')


def test_drill001_down_and_back_up(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    sc = env["sc"]
    _open(dash_duo, env, "admin", "/area?lang=en")
    dash_duo.wait_for_element(".drill-crumbs .here")
    dash_duo.wait_for_element(".leaflet-overlay-pane path")
    assert dash_duo.find_elements(".leaflet-tile") == []  # no tiles by default: boundaries carry the map
    _shot(dash_duo, "city")
    _click_area(dash_duo, sc["district"])
    _wait_text(dash_duo, ".drill-crumbs .here", sc["district_name"])
    assert _here(dash_duo) == f"/area/d/{sc['district']}?lang=en"
    _click_area(dash_duo, sc["street"])
    _wait_text(dash_duo, ".drill-crumbs .here", sc["street_name"])
    _wait_text(dash_duo, '[data-metric="drill-red"]', "3")  # A, B and XSS1
    _shot(dash_duo, "street")
    _click_area(dash_duo, sc["c1"])
    _wait_text(dash_duo, ".drill-crumbs .here", sc["c1_name"])
    _click_area(dash_duo, sc["grid_c1"])
    dash_duo.wait_for_element('.drill-crumbs .here[data-level="grid"]')
    _click(dash_duo, 'a[data-appeal="XSS1"]')
    _wait_text(dash_duo, ".drill-crumbs .here", "XSS1")
    dash_duo.wait_for_element('tr[data-event="reopened"]')
    _shot(dash_duo, "appeal")
    # Back button: the grid, then the community.
    dash_duo.driver.back()
    dash_duo.wait_for_element('.drill-crumbs .here[data-level="grid"]')
    assert _here(dash_duo).startswith(f"/area/g/{sc['grid_c1']}")
    dash_duo.driver.back()
    _wait_text(dash_duo, ".drill-crumbs .here", sc["c1_name"])
    # Breadcrumb: straight up to the district, then the city.
    _click(dash_duo, '.drill-crumbs [data-level="district"] a')
    _wait_text(dash_duo, ".drill-crumbs .here", sc["district_name"])
    _click(dash_duo, '.drill-crumbs [data-level="city"] a')
    dash_duo.wait_for_element(f'#drill-table-ranking tr[data-area="{sc["district"]}"]')
    assert _here(dash_duo) == "/area?lang=en"
    dash_duo.driver.back()
    _wait_text(dash_duo, ".drill-crumbs .here", sc["district_name"])
    dash_duo.driver.forward()
    dash_duo.wait_for_element('.drill-crumbs .here[data-level="city"]')
    assert dash_duo.get_logs() == [] or all("favicon" in e["message"] for e in dash_duo.get_logs())


def test_drill002_filters_in_url_and_bookmarkable(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    sc = env["sc"]
    path = f"/area/s/{sc['street']}?light=red&fig=red&lang=en"
    _open(dash_duo, env, "street", path)
    _wait_text(dash_duo, '[data-metric="drill-red"]', "3")
    _wait_text(dash_duo, '[data-metric="drill-open"]', "3")  # only red ones match light=red
    _wait_text(dash_duo, '[data-metric="drill-green"]', "0")
    assert dash_duo.find_element(".drill-legend").get_attribute("data-figure") == "red"
    # Changing a filter control writes the URL (and the panels follow).
    dash_duo.select_dcc_dropdown('#\\{\\"name\\"\\:\\"light\\"\\,\\"type\\"\\:\\"drill-filter\\"\\}', index=0)
    _wait_text(dash_duo, '[data-metric="drill-open"]', "1")  # green: E alone
    assert "light=green" in _here(dash_duo)
    dash_duo.driver.back()
    _wait_text(dash_duo, '[data-metric="drill-open"]', "3")
    _shot(dash_duo, "street-filtered")
    # A bookmark opens the same view.
    dash_duo.driver.get(dash_duo.server.url.rstrip("/") + path)
    _wait_text(dash_duo, '[data-metric="drill-open"]', "3")
    # Grid supervisors land on their grid; a street page is nothing to them.
    dash_duo.driver.delete_all_cookies()
    dash_duo.driver.add_cookie({"name": "cc_session", "value": env["tokens"]["grids"], "path": "/"})
    dash_duo.driver.get(dash_duo.server.url.rstrip("/") + path)
    dash_duo.wait_for_element("#drill-error")
    assert sc["street_name"] not in dash_duo.find_element("body").text


def test_drill003_citizen_text_never_runs(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    sc = env["sc"]
    pages = [
        "/area",
        f"/area/d/{sc['district']}",
        f"/area/s/{sc['street']}",
        f"/area/c/{sc['c1']}",
        f"/area/g/{sc['grid_c1']}",
        "/area/a/XSS1",
        "/area/a/B",
    ]
    _open(dash_duo, env, "admin", pages[0])
    driver = dash_duo.driver
    for p in pages:
        driver.get(dash_duo.server.url.rstrip("/") + p)
        dash_duo.wait_for_element(".drill-crumbs .here")
        # shown as text in the grids (their rows arrive after the page) and the timeline
        until(lambda: "<script>window.__xss=2</script>" in (_text(dash_duo, ".drill-body") or ""), timeout=20, msg=p)
        assert dash_duo.find_elements(".drill-body img") == [], p
        markers = dash_duo.find_elements('.leaflet-overlay-pane path[stroke="#ffffff"]')
        assert markers, p
        for m in markers:  # tooltips and popups: Leaflet renders HTML, so the server escaped the words
            driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));", m)
            driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}));", m)
        dash_duo.wait_for_element(".leaflet-popup-content")
        assert dash_duo.find_elements(".leaflet-popup-content img") == [], p
        assert dash_duo.find_elements(".leaflet-tooltip img") == [], p
        assert driver.execute_script("return window.__xss === undefined;"), p
    tips = " ".join(e.text for e in dash_duo.find_elements(".leaflet-tooltip, .leaflet-popup-content"))
    assert '<img src=x onerror="window.__xss=1">' in tips
    assert XSS in dash_duo.find_element('[data-field="summary"]').text


def _levels(sc: dict[str, Any]) -> dict[str, str]:
    return {
        "city": "/area",
        "district": f"/area/d/{sc['district']}",
        "street": f"/area/s/{sc['street']}",
        "community": f"/area/c/{sc['c1']}",
        "grid": f"/area/g/{sc['grid_c1']}",
        "appeal": "/area/a/XSS1",
    }


def test_drill004_time_to_drawn_per_level(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    """Navigation to map drawn and every figure shown, per level: recorded in a file and printed, not asserted
    (no wall-clock limits in tests; benchmarks/drill_pages.py measures it on a big store)."""
    _open(dash_duo, env, "admin", "/area")
    dash_duo.driver.set_window_size(1920, 1080)
    assert dash_duo.driver.execute_async_script(DRAWN_JS, 60000) is not None  # scripts loaded once
    lines = []
    for level, path in _levels(env["sc"]).items():
        dash_duo.driver.get(dash_duo.server.url.rstrip("/") + path)
        at = dash_duo.driver.execute_async_script(DRAWN_JS, 60000)
        assert at is not None, f"{level} never drawn"
        first = max((int(a[1]) for a in dash_duo.driver.execute_script(RESPONSES_JS) if a[0] <= at), default=0)
        assert first <= 100_000, f"{level}: first answer {first} bytes"
        lines.append(f"{level:<10} drawn {at:8.0f} ms  first answer {first / 1000:6.1f} KB  {path}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "time_to_drawn.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def test_drill005_figures_fit_at_three_sizes(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    sc = env["sc"]
    _open(dash_duo, env, "admin", "/wall")
    d = dash_duo.driver
    until(lambda: (_text(dash_duo, '[data-metric="open-total"]') or "").strip() not in ("", "—"), timeout=30)
    pages = ["/wall", f"/area/s/{sc['street']}", "/area?lang=en", "/area/a/XSS1"]
    for w, h in SIZES:
        d.set_window_size(w, h)
        for p in pages:
            d.get(dash_duo.server.url.rstrip("/") + p)
            if p == "/wall":
                until(lambda: (_text(dash_duo, '[data-metric="open-total"]') or "").strip() not in ("", "—"), 30)
            else:
                assert d.execute_async_script(DRAWN_JS, 60000) is not None, p
            assert d.execute_script(OVERFLOW_JS) == [], (w, h, p)
            _shot(dash_duo, f"fit-{w}x{h}-{p.strip('/').replace('/', '-').replace('?', '-') or 'city'}")
        # Whatever their size: the street page's figures given the biggest values a city shows, as the server
        # would draw them (the figure's text and its length, layouts/drill_tables.fig).
        d.get(dash_duo.server.url.rstrip("/") + f"/area/s/{sc['street']}")
        assert d.execute_async_script(DRAWN_JS, 60000) is not None
        big = fig("open", "", 8_888_888).children[0]
        d.execute_script(
            "var text = arguments[0], chars = arguments[1];"
            "document.querySelectorAll('[data-metric^=\"drill-\"]').forEach(function (e) {"
            " e.textContent = text; e.style.setProperty('--chars', chars); });",
            big.children,
            str(big.style["--chars"]),
        )
        assert d.execute_script(OVERFLOW_JS) == [], (w, h, "big figures")


def test_drill006_page_follows_the_store(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    """An appeal logged and folded through the store's normal path shows on an open street page by itself: the
    figure and the appeals grid change, the filters in the URL and the map's view stay."""
    sc = env["sc"]
    path = f"/area/s/{sc['street']}?lang=en"
    _open(dash_duo, env, "street", path)
    d = dash_duo.driver
    assert d.execute_async_script(DRAWN_JS, 60000) is not None
    before = int((_text(dash_duo, '[data-metric="drill-total"]') or "0").replace(",", ""))
    dash_duo.wait_for_element('#drill-grid-appeals a[data-appeal="XSS1"]')
    view = d.execute_script("var m = document.querySelector('.leaflet-map-pane'); return m.style.transform;")
    now = sc["now"]
    put_events(
        env["sessions"],
        [
            ev(
                "created",
                "LIVE1",
                now,
                channel="phone",
                kind="request",
                category=["城市管理"],
                priority="normal",
                community=sc["c1"],
                summary="live",
            )
        ],
        env["settings"],
        env["svc"].gazetteer,
    )
    _wait_text(dash_duo, '[data-metric="drill-total"]', f"{before + 1:,}")
    dash_duo.wait_for_element('#drill-grid-appeals a[data-appeal="LIVE1"]')
    assert _here(dash_duo) == path
    assert d.execute_script("return document.querySelector('.leaflet-map-pane').style.transform;") == view


def test_drill007_appeal_page_follows_redis(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    """An open appeal page changes by itself when an event for the appeal arrives through Redis (the ingest worker
    logs it, the projection folds it): its state and timeline, in place (no reload), the map's view kept."""
    sc = env["sc"]
    at = datetime.now(UTC) - timedelta(hours=1)
    put_events(
        env["sessions"],
        [created("LIVE-A7", at, sc["c1"]), ev("dispatched", "LIVE-A7", at, "LIVE-A7-d", unit=sc["unit"])],
        env["settings"],
        env["svc"].gazetteer,
    )
    _open(dash_duo, env, "street", "/area/a/LIVE-A7?lang=en")
    d = dash_duo.driver
    dash_duo.wait_for_element('#drill-appeal-timeline tr[data-event="dispatched"]')
    status = _text(dash_duo, '#drill-appeal-facts [data-field="status"]')
    d.execute_script("window.__samePage = 1;")  # gone if the page were loaded again
    view = d.execute_script("var m = document.querySelector('.leaflet-map-pane'); return m.style.transform;")
    rds, settings, (engine, sessions, _) = env["rds"], env["settings"], env["store"]
    worker = IngestWorker(settings, rds, sessions, engine, env["svc"].gazetteer)
    worker.ensure_groups()
    note = "路灯已修复"
    push(
        rds,
        settings.stream("events"),
        [ev("resolved", "LIVE-A7", datetime.now(UTC), "LIVE-A7-r", unit=sc["unit"], note=note)],
    )
    drain(worker)
    dash_duo.wait_for_element('#drill-appeal-timeline tr[data-event="resolved"]')
    _wait_text(dash_duo, '#drill-appeal-timeline tr[data-event="resolved"] td:last-child', note)
    assert _text(dash_duo, '#drill-appeal-facts [data-field="status"]') != status
    assert d.execute_script("return window.__samePage;") == 1
    assert d.execute_script("return document.querySelector('.leaflet-map-pane').style.transform;") == view
    _shot(dash_duo, "appeal-live")

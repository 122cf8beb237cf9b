"""Supervision buttons walked in headless Chromium: 督办 from the appeal page and from a red-list row, 催办, the
confirmation and its result, then the case in the ledger (督办台账) and the wall's figure.

Run: DASH_TEST_CHROMEPATH=/usr/bin/chromium pytest tests/browser/test_casework_browser.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dash.testing.wait import until
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.wait import WebDriverWait

from tests.drill_support import drill_app, drill_world

SHOTS = Path(os.environ.get("CASE_SHOTS", "/tmp/case-shots"))


@pytest.fixture(scope="module")
def env(city, gazetteer, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with drill_world(city, gazetteer, tmp_path_factory.mktemp("cases"), ("dist",), app=False) as w:
        yield w


def _go(dash_duo, path: str) -> None:  # type: ignore[no-untyped-def]
    dash_duo.driver.get(dash_duo.server.url.rstrip("/") + path)


def _shot(dash_duo, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def _text(dash_duo, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(
        dash_duo.driver.execute_script(
            "var e = document.querySelector(arguments[0]); return e ? e.textContent : '';", selector
        )
    )


def _press(dash_duo, selector: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    """Click a case button, accept the confirmation, wait for the result line to say `expect`. A click that lands
    while the page is still being drawn (its rows replaced) is lost: then the button is clicked again."""
    dash_duo.wait_for_element(selector)
    for attempt in range(3):
        until(  # clicked in the page, in one go: no stale element while the page re-renders
            lambda: dash_duo.driver.execute_script(
                "var e = document.querySelector(arguments[0]); if (!e) return false; e.click(); return true;",
                selector,
            ),
            timeout=20,
        )
        try:
            WebDriverWait(dash_duo.driver, 15).until(EC.alert_is_present())
            break
        except TimeoutException:
            if attempt == 2:
                _shot(dash_duo, "failed")
                raise
    alert = dash_duo.driver.switch_to.alert
    assert "A" in alert.text or "B" in alert.text, alert.text
    alert.accept()
    try:
        until(lambda: expect in _text(dash_duo, ".case-msg"), timeout=45, msg=f"no result {expect!r}")
    except Exception:
        _shot(dash_duo, "failed")
        raise


def test_case001_open_chase_and_ledger(dash_duo, env) -> None:  # type: ignore[no-untyped-def]
    sc = env["sc"]
    dash_duo.start_server(drill_app(env["svc"]), navigate=False)
    dash_duo.driver.set_window_size(1920, 1080)
    _go(dash_duo, "/login")
    dash_duo.driver.add_cookie({"name": "cc_session", "value": env["tokens"]["dist"], "path": "/"})
    # The appeal page: open a case, then chase.
    _go(dash_duo, "/area/a/A?lang=en")
    _press(dash_duo, '.drill-panel.cases [data-case-action="open"]', "Supervision case")
    dash_duo.wait_for_element('.drill-panel.cases tr[data-state="open"]')  # the panel shows the new case
    _shot(dash_duo, "appeal-opened")
    _press(dash_duo, '.drill-panel.cases [data-case-action="chase"]', "Chase")
    # A red-list row of the street's page.
    _go(dash_duo, f"/area/s/{sc['street']}?lang=en")
    _press(dash_duo, '#drill-grid-red [data-appeal="B"][data-case-action="open"]', "Supervision case")
    # The ledger shows both cases.
    _go(dash_duo, "/supervision?lang=en")
    dash_duo.wait_for_element(".ag-row")
    until(lambda: {"A", "B"} <= set(_appeals(dash_duo)), timeout=20, msg="the ledger lacks the cases")
    assert _text(dash_duo, '[data-metric="cases-open"]') == "2"
    _shot(dash_duo, "ledger-1920")
    dash_duo.driver.set_window_size(1366, 768)
    _shot(dash_duo, "ledger-1366")
    # The wall's figure of live cases in the district.
    dash_duo.driver.set_window_size(1920, 1080)
    _go(dash_duo, f"/wall?view=d:{sc['district']}&lang=en")
    until(lambda: _text(dash_duo, "#m-cases-open") == "2", timeout=30, msg="the wall's case figure")
    assert dash_duo.find_elements('#m-red-list [data-case-action="open"]'), "no 督办 button on the wall's red rows"
    _shot(dash_duo, "wall")


def _appeals(dash_duo) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll('.ag-row [col-id=\"appeal\"]')).map(e => e.textContent);"
        )
    )

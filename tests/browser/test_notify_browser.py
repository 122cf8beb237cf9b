"""The wall's notification chip in headless Chromium: a failing channel is named on the screen, in its header,
at 1920x1080 and 1366x768 without overflowing it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard.notices import Notice, Recipient
from data_access.notify.outbox import queue
from data_access.notify.sender import Sender
from tests.browser.test_wall_browser import _start
from tests.conftest import make_store

CHIP = '[data-metric="notify"]'


@pytest.fixture()
def failing_store(tmp_path: Path, city, settings) -> Iterator[tuple[Any, Any]]:  # type: ignore[no-untyped-def]
    """A store whose WeCom channel failed its last attempt (nothing listens on its port)."""
    s = settings.model_copy(update={"notify_wecom_url": "https://127.0.0.1:9/wecom"})
    with make_store("sqlite", tmp_path, city) as st:
        who = Recipient("王主任", "principal", None, None, "13800000001", None, None)
        with st[0].begin() as conn:
            queue(conn, [Notice("k1", who, "红灯", "超期", None, "escalation", None, None, None, None)], s)
        sender = Sender(s, st[0])
        sender.step(now=datetime.now(UTC))
        sender.close()
        yield st, s


def test_notify001_failing_channel_named_on_the_wall(dash_duo, failing_store, city, rds) -> None:  # type: ignore[no-untyped-def]
    st, s = failing_store
    _start(dash_duo, s, st, city, rds, path="/wall?lang=en", notify_wecom_url=s.notify_wecom_url)
    dash_duo.wait_for_text_to_equal(CHIP, "Notices failing: wecom", timeout=30)
    assert "failing" in dash_duo.find_element(CHIP).get_attribute("class")
    shots = os.environ.get("NOTIFY_SHOTS")  # a folder to keep the screenshots in, to look at them
    for w, h in ((1920, 1080), (1366, 768)):
        dash_duo.driver.set_window_size(w, h)
        over = dash_duo.driver.execute_script(
            "const e = document.querySelector('.wall-header'); return [e.scrollWidth, e.clientWidth];"
        )
        assert over[0] <= over[1], (w, h, over)
        if shots:
            dash_duo.driver.save_screenshot(str(Path(shots) / f"wall-notify-{w}x{h}.png"))

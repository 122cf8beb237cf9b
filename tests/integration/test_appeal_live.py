"""The appeal page's tick through the app's own callback endpoint: everything first, then only what changed (nothing
while nothing does); an event arriving through Redis changes the state and the timeline; other scopes get nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard import ids_drill
from data_access.intake.consumer import IngestWorker
from tests.casework_support import call, client
from tests.conftest import ev
from tests.drill_support import drill_world, refusals
from tests.ingest_support import drain, push
from tests.wall_support import created, put_events

APPEAL = "LIVE-A1"


@pytest.fixture(scope="module")
def world(city, gazetteer, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with drill_world(city, gazetteer, tmp_path_factory.mktemp("appeal-live"), ("street", "otherdist")) as w:
        sc, at = w["sc"], datetime.now(UTC) - timedelta(hours=1)
        put_events(
            w["sessions"],
            [created(APPEAL, at, sc["c1"]), ev("dispatched", APPEAL, at, f"{APPEAL}-d", unit=sc["unit"])],
            w["settings"],
            w["svc"].gazetteer,
        )
        yield w


def _tick(w: dict[str, Any], user: str, shown: Any) -> dict[str, Any]:
    return call(
        client(w, user),
        w["app"],
        "appeal_tick",
        [{"id": ids_drill.APPEAL_TICK, "property": "n_intervals", "value": 1}],
        [
            {"id": "url", "property": "pathname", "value": f"/area/a/{APPEAL}"},
            {"id": "url", "property": "search", "value": "?lang=en"},
            {"id": ids_drill.APPEAL_SHOWN, "property": "data", "value": shown},
        ],
    )


def _events(resp: dict[str, Any]) -> list[str]:
    """The event types of the timeline's rows in a tick's answer."""
    table = resp[ids_drill.APPEAL_TIMELINE]["children"]
    body = table["props"]["children"][1]["props"]["children"]
    return [row["props"]["data-event"] for row in body]


def test_appeal001_tick_sends_what_changed(world) -> None:  # type: ignore[no-untyped-def]
    first = _tick(world, "street", None)  # a browser showing nothing known gets every panel
    assert set(first) == {
        ids_drill.APPEAL_FACTS,
        ids_drill.APPEAL_REVIEW,
        ids_drill.APPEAL_TIMELINE,
        ids_drill.APPEAL_SHOWN,
    }
    assert _events(first) == ["created", "dispatched"]
    shown = first[ids_drill.APPEAL_SHOWN]["data"]
    assert _tick(world, "street", shown) == {}  # nothing changed: nothing sent

    # An event for the appeal arrives through Redis: the ingest worker logs it, the projection folds it.
    rds, settings, st = world["rds"], world["settings"], world["store"]
    worker = IngestWorker(settings, rds, st[1], st[0], world["svc"].gazetteer)
    worker.ensure_groups()
    push(
        rds,
        settings.stream("events"),
        [ev("resolved", APPEAL, datetime.now(UTC), f"{APPEAL}-r", unit=world["sc"]["unit"], note="路灯已修复")],
    )
    drain(worker)
    # A tick may still be served the page's read of the last interval (shared by its screens): tick on until the
    # fold shows (each tries again as the browser's next tick would).
    for _ in range(600):
        got = _tick(world, "street", shown)
        if got:
            break
        time.sleep(0.05)
    assert ids_drill.APPEAL_REVIEW not in got  # unchanged (no call-back yet): not sent
    assert ids_drill.APPEAL_FACTS in got and ids_drill.APPEAL_TIMELINE in got
    assert _events(got)[-1] == "resolved" and "路灯已修复" in str(got[ids_drill.APPEAL_TIMELINE])
    assert "resolved" in str(got[ids_drill.APPEAL_FACTS])
    assert _tick(world, "street", got[ids_drill.APPEAL_SHOWN]["data"]) == {}


def test_appeal002_other_scopes_get_nothing(world) -> None:  # type: ignore[no-untyped-def]
    before = refusals(world["sessions"])
    assert _tick(world, "otherdist", None) == {}
    assert refusals(world["sessions"]) == before + 1  # refused and audited

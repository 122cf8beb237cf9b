"""A drill page's panels read from the moment its address is asked for: the read starts before the browser asks
for the page's first answer, only for a place the signed-in scope may see, and a part being read is read once
however many ask for it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from dash.testing.wait import until

from callbacks import drill
from dashboard.drill import Area, Filters
from dashboard.scopes import Scope
from data_access.ops.pools import pool
from tests.drill_support import drill_world


def _key(svc: Any, area: Area, scope: Scope) -> tuple[Any, ...]:
    return ("page", svc.url, area, Filters(lang="zh"), scope)


def test_page_address_starts_its_read_within_the_scope(city, gazetteer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with drill_world(city, gazetteer, tmp_path, ("street",)) as w:
        svc, sc = w["svc"], w["sc"]
        own, other = Area("street", sc["street"]), Area("district", sc["other"]["district"])
        scope = Scope("street_leader", street=sc["street"])
        drill._AREA_CACHE.clear()
        c = w["app"].server.test_client()
        c.set_cookie("cc_session", w["tokens"]["street"])
        assert c.get(own.path + "?lang=en").status_code == 200  # the page's HTML: no data in it
        until(lambda: drill._AREA_CACHE.peek(_key(svc, own, scope)) is not None, timeout=30)
        got = drill._AREA_CACHE.peek(_key(svc, own, scope))[1]
        assert got["lights"] == drill.area_data(svc, own, Filters(), scope, datetime.now(UTC))["lights"]
        # Outside the scope: nothing read (the page's callback refuses it, audited, as before).
        unused = pool(1, "test-early")  # neither read below is started
        assert drill.read_early(svc, other.path, "", scope, unused) is None
        assert c.get(other.path).status_code == 200
        assert drill._AREA_CACHE.peek(_key(svc, other, scope)) is None
        assert drill.read_early(svc, own.path, "?window=bad", scope, unused) is None  # a bad query: nothing read


def test_a_part_being_read_is_read_once(settings) -> None:  # type: ignore[no-untyped-def]
    svc: Any = SimpleNamespace(settings=settings)  # the field _cached reads
    started, go, reads, got = threading.Event(), threading.Event(), [], []

    def read() -> str:
        reads.append(1)
        started.set()
        go.wait()
        return "panels"

    first = threading.Thread(target=lambda: got.append(drill._cached(svc, ("once",), read)))
    first.start()
    started.wait()
    second = threading.Thread(target=lambda: got.append(drill._cached(svc, ("once",), read)))
    second.start()
    go.set()
    first.join()
    second.join()
    assert got == ["panels", "panels"] and len(reads) == 1

"""What the wall's tick shows (layouts/tick.render) when its figures are not computed yet: "计算中…", never a false 0
or an empty list; once they are, the figures, a true 0 and "no hotspot" included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from layouts.tick import render

pytestmark = pytest.mark.unit

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def result(*, history_load: float | None, coverage_known: bool, coverage: float | None) -> dict[str, Any]:
    """A take_snapshot() result of a city without appeals, as right after a start."""
    status = {
        "redis": True,
        "store": True,
        "stale": False,
        "fresh": True,
        "data_time": NOW.isoformat(),
        "time": NOW.isoformat(),
        "last_event": NOW.isoformat(),
        "feed_stale_s": 120,
        "history_load": history_load,
    }
    street = {"code": "S1", "name": "翠塘街道", "grids": 70, "covered": 0, "share": 0.0}
    data = {
        "time": NOW.isoformat(),
        "view": "city",
        "last_event": NOW.isoformat(),
        "feed_age_s": 0.0,
        "summary": {"open": 0, "green": 0, "yellow": 0, "red": 0, "turning_red": 0, "today": 0, "cases_open": 0},
        "alerts": {"red": [], "soon": []},
        "members": {
            "roster": 10,
            "online": 0,
            "busy": 0,
            "sos": 0,
            "offline": 10,
            "grids": 70,
            "grids_covered": 0,
            "coverage": coverage,
            "coverage_known": coverage_known,
            "streets": [street],
            "sos_list": [],
        },
        "rankings": {"classes": {}, "rows": [], "volume_top": [], "provisional_until": None, "stale": False},
        "hotspots": [],
        "communities": {},
        "tour": ["city"],
    }
    return {"status": status, "data": data}


def _text(component: Any) -> str:
    """The text of a component as the browser shows it."""
    if component is None or isinstance(component, (str, int, float)):
        return "" if component is None else str(component)
    if isinstance(component, list):
        return "".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


@pytest.mark.parametrize(("lang", "word"), [("zh", "计算中…"), ("en", "Computing…")])
def test_figures_not_computed_yet_say_so(lang: str, word: str) -> None:
    """Right after the demo's first start: no heartbeat read yet, the city's history loading."""
    out = render(result(history_load=0.05, coverage_known=False, coverage=None), ZONE, lang)
    assert out["fig:coverage"] == word
    for name in ("list:coverage-list", "list:hotspot-list"):
        assert _text(out[name]) == word
        assert out[name].className == "none loading"  # as the drill-down's panels say "loading"


def test_coverage_known_before_the_history_is_in() -> None:
    out = render(result(history_load=0.5, coverage_known=True, coverage=0.25), ZONE, "zh")
    assert out["fig:coverage"] == "25%"
    assert "翠塘街道" in _text(out["list:coverage-list"])
    assert _text(out["list:hotspot-list"]) == "计算中…"


def test_hotspots_found_while_the_history_loads_are_shown() -> None:
    """The wall is full within minutes of a first start: hotspots already found are shown under the banner."""
    res = result(history_load=0.2, coverage_known=True, coverage=0.9)
    res["data"]["hotspots"] = [{"place": "黄门街道 枣定社区", "count": 78, "expected": 2.5, "code": "C1"}]
    out = render(res, ZONE, "zh")
    assert "黄门街道 枣定社区" in _text(out["list:hotspot-list"]) and "78" in _text(out["list:hotspot-list"])


def test_computed_figures_shown_as_they_are_a_true_zero_included() -> None:
    out = render(result(history_load=None, coverage_known=True, coverage=0.0), ZONE, "zh")
    assert out["fig:coverage"] == "0%"  # members present, none on a grid: a figure, not a placeholder
    assert _text(out["list:hotspot-list"]) == "暂无异常热点"
    assert "0/70" in _text(out["list:coverage-list"])

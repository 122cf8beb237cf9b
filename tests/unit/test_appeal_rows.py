"""The one builder of an appeal's screen row: light from the domain, names, place, map point, JSON form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.appeal import Light, light_from_times
from data_access.store.appeal_rows import (
    COLUMNS,
    NO_PLACE,
    Names,
    appeal_row,
    columns_of,
    plain,
)
from data_access.store.models import Appeal

T0 = datetime(2026, 3, 2, 4, tzinfo=UTC)
H = timedelta(hours=1)
NAMES = Names(
    unit={"U1": "某街道办"},
    member={"M1": "张三"},
    street={"S1": "某街道"},
    community={"C1": "某社区", "C2": "二社区"},
    point={"C2": (116.4, 39.9)},
)


def _row(**over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {c.key: None for c in COLUMNS}
    r.update(
        id="A1",
        created_at=T0 - 30 * H,
        is_open=True,
        status="accepted",
        unit="U1",
        member="M1",
        district="D1",
        street="S1",
        community="C1",
        grid="G1",
        cat1="城市管理",
        cat2="市政设施",
        cat3="路灯",
        channel="phone",
        kind="complaint",
        priority="urgent",
        due_at=T0 - 6 * H,
        yellow_from=T0 - 18 * H,
        red_from=T0 - 6 * H,
        address="某路 1 号",
        summary="路灯不亮",
        lon=116.41,
        lat=39.91,
    )
    r.update(over)
    return r


def test_row_of_a_red_appeal() -> None:
    got = appeal_row(_row(), T0, NAMES)
    assert got["light"] == Light.RED
    assert (got["late_s"], got["red_in_s"]) == (6 * 3600, -6 * 3600)
    assert got["categories"] == ["城市管理", "市政设施", "路灯"]
    assert (got["category"], got["category_path"]) == ("路灯", "城市管理 / 市政设施 / 路灯")
    assert (got["unit_name"], got["member_name"], got["place"]) == ("某街道办", "张三", "某街道 某社区")
    assert got["lonlat"] == [116.41, 39.91] and got["summary"] == "路灯不亮"
    assert got["created_at"] == T0 - 30 * H and got["due_at"] == T0 - 6 * H


def test_light_is_the_domain_light_at_every_step() -> None:
    for now in (T0 - 19 * H, T0 - 18 * H, T0 - 7 * H, T0 - 6 * H, T0):
        r = _row()
        expected = light_from_times(True, r["yellow_from"], r["red_from"], r["due_at"], None, now)
        assert appeal_row(r, now, NAMES)["light"] == expected
    assert appeal_row(_row(is_open=False, resolved_at=T0 - 7 * H), T0, NAMES)["light"] == Light.ON_TIME
    assert appeal_row(_row(is_open=False, closed_at=T0 - 5 * H), T0, NAMES)["light"] == Light.LATE


def test_unknown_and_missing_names() -> None:
    got = appeal_row(
        _row(
            unit="U9",
            member=None,
            street=None,
            community="C9",
            lon=None,
            lat=None,
            cat2=None,
            cat3=None,
            summary=None,
            address=None,
        ),
        T0,
        NAMES,
    )
    assert (got["unit_name"], got["member_name"]) == ("U9", None)
    assert got["place"] == NO_PLACE and got["lonlat"] is None
    assert (got["category"], got["category_path"]) == ("城市管理", "城市管理")
    assert (got["summary"], got["address"]) == ("", "")
    assert appeal_row(_row(unit=None), T0, NAMES)["unit_name"] is None


def test_point_falls_back_to_the_community() -> None:
    got = appeal_row(_row(community="C2", lon=None, lat=None), T0, NAMES)
    assert got["lonlat"] == [116.4, 39.9] and got["place"] == "某街道 二社区"


def test_plain_rows_are_json_ready_and_columns_of_an_appeal() -> None:
    r = _row()
    flat = plain(appeal_row(r, T0, NAMES))
    assert flat["due_at"] == (T0 - 6 * H).isoformat() and flat["created_at"] == (T0 - 30 * H).isoformat()
    assert not any(isinstance(v, datetime) for v in flat.values())
    a = Appeal(**r)
    assert columns_of(a) == r
    assert appeal_row(columns_of(a), T0, NAMES) == appeal_row(r, T0, NAMES)

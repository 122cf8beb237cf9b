"""Appeals for the same-event tests: bursts about known events among scattered appeals, as contract events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from geo.crs import wgs84_to_gcj02
from tests.conftest import ev

LAMP = ["城市管理", "市政设施", "路灯"]
NOISE = ["生态环境", "噪声污染", "施工噪音"]
WATER = ["城乡建设", "供水", "停水"]
TEXTS = {
    "路灯": ("小区门口路灯不亮，晚上很黑", "路灯坏了好几天了，晚上看不见路", "门口那盏路灯一直不亮"),
    "施工噪音": ("工地夜间施工噪音扰民", "晚上工地施工太吵睡不着", "附近工地半夜还在施工"),
    "停水": ("小区突然停水没有通知", "家里停水一天了", "楼里停水，何时恢复供水"),
}
CATS = {"路灯": LAMP, "施工噪音": NOISE, "停水": WATER}
#: Metres per degree of latitude.
M = 111_320.0


def created_at(
    appeal: str,
    at: datetime,
    cat: list[str],
    lon: float | None,
    lat: float | None,
    community: str,
    summary: str | None,
    crs: str | None = None,
) -> str:
    """A `created` event with a point (or only a community when lon is None), in `crs` when given."""
    fields: dict[str, Any] = {
        "channel": "phone",
        "kind": "complaint",
        "category": cat,
        "priority": "normal",
        "community": community,
    }
    if lon is not None:
        fields["location"] = {"lon": lon, "lat": lat} | ({"crs": crs} if crs else {})
    if summary is not None:
        fields["summary"] = summary
    return ev("created", appeal, at, **fields)


def mixed(city, start: datetime, n: int, seed: int = 7, gcj: float = 0.0) -> list[str]:  # type: ignore[no-untyped-def]
    """`n` appeals over 5 days around a handful of places: some repeat one event, some are near but of another
    category, some lack a point or a summary, a share `gcj` send their point in GCJ-02; in an order that is not
    their time order."""
    rng = random.Random(seed)
    comms = city.communities.iloc[:6]
    out = []
    for i in range(n):
        c = comms.iloc[rng.randrange(len(comms))]
        key = rng.choice(list(CATS))
        east, north = rng.uniform(-150, 150), rng.uniform(-150, 150)
        lon = float(c.geometry.x) + east / (M * 0.77)
        lat = float(c.geometry.y) + north / M
        point = rng.random() > 0.1
        text = rng.choice(TEXTS[key]) if rng.random() > 0.15 else None
        at = start + timedelta(hours=rng.uniform(0, 120))
        crs = None
        if rng.random() < gcj:
            x, y = wgs84_to_gcj02(lon, lat)
            lon, lat, crs = float(x), float(y), "gcj02"
        out.append(created_at(f"M{i:04d}", at, CATS[key], lon if point else None, lat, c["code"], text, crs))
    return out

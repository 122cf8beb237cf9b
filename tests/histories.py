"""Random but valid appeal histories over the demo city, for ingest tests and benchmarks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.conftest import ev

BASE = datetime.fromisoformat("2026-11-20T08:00:00+08:00")


def histories(city, n: int, seed: int = 1, base: datetime = BASE) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """n appeals, each a list of event JSON texts in time order, covering every lifecycle path."""
    rnd = random.Random(seed)
    comms = city.communities[["code", "street", "lon", "lat"]].values.tolist()
    depts = city.units[city.units["kind"] != "street"]["code"].tolist()
    members = city.members.groupby("street")["id"].first().to_dict()
    out: dict[str, list[str]] = {}
    for k in range(n):
        appeal = f"T{seed}-{k:06d}"
        code, street, lon, lat = rnd.choice(comms)
        t = base + timedelta(minutes=rnd.randint(0, 60 * 24))
        evs: list[str] = []

        def add(type_: str, **f: object) -> None:
            nonlocal t
            t += timedelta(minutes=rnd.randint(1, 600))
            evs.append(ev(type_, appeal, t, f"{appeal}-{len(evs)}", **f))  # noqa: B023 - called only in this pass

        place = rnd.choice(
            [
                {"community": code},
                {"location": {"lon": lon, "lat": lat}},
                {"location": {"lon": lon, "lat": lat}, "community": code},
            ]
        )
        add(
            "created",
            channel=rnd.choice(["phone", "web", "wechat"]),
            kind="complaint",
            category=["城市管理", "市容环境", "垃圾清运"],
            priority=rnd.choice(["urgent", "normal", "routine"]),
            summary=f"居民反映<{k}>问题",
            **place,
        )
        unit = street if rnd.random() < 0.8 else rnd.choice(depts)
        path = rnd.random()
        if path < 0.1:
            out[appeal] = evs
            continue
        add("dispatched", unit=unit)
        if path < 0.2:
            add("returned", unit=unit, reason="非本单位职责")
            unit = rnd.choice(depts)
            add("dispatched", unit=unit)
        add("accepted", unit=unit, member=members.get(street))
        if path < 0.3:
            add("extended", due_at=(t + timedelta(days=10)).isoformat(), reason="需协调")
        if path < 0.4:
            out[appeal] = evs
            continue
        add("resolved", unit=unit, note="已处理")
        good = rnd.random() < 0.8
        add("reviewed", responded=True, resolved=good, satisfaction="satisfied" if good else "dissatisfied")
        if not good and rnd.random() < 0.5:
            add("reopened", reason="群众不满意")
            add("resolved", unit=unit)
            add("reviewed", responded=True, resolved=True, satisfaction="basically_satisfied")
        add("closed")
        out[appeal] = evs
    return out

"""The appeals the demo creates each minute: when in the minute, where (community, location in a
coordinate system its channel would send), about what, how urgent, in whose words; then their lifecycles."""

from __future__ import annotations

import math
from typing import Any

from dashboard.settings import PRIORITIES
from data_access.demo import texts
from data_access.demo.draws import Rng, cum, pick
from data_access.demo.lifecycles import Lifecycles, Step
from data_access.demo.payloads import frag
from data_access.demo.places import Places
from data_access.demo.schedule import Day, LocalTime
from geo.crs import gcj02_to_bd09, wgs84_to_gcj02

CHANNELS = (
    ("phone", 0.62),
    ("wechat", 0.12),
    ("app", 0.09),
    ("web", 0.08),
    ("grid_patrol", 0.06),
    ("visit", 0.015),
    ("referral", 0.015),
)
KINDS = (
    ("request", 0.38),
    ("complaint", 0.33),
    ("consult", 0.14),
    ("report", 0.08),
    ("suggestion", 0.05),
    ("praise", 0.02),
)
#: Share of wgs84 / gcj02 (Amap, Tencent, WeChat) / bd09 (Baidu) coordinates per channel.
CRS_BY_CHANNEL = {"wechat": (0.2, 0.8, 0.0), "app": (0.5, 0.5, 0.0), "web": (0.4, 0.0, 0.6)}


class Appeals:
    """Makes the appeals of each minute from that minute's own random stream, lifecycles included."""

    def __init__(
        self, seed: int, places: Places, lifecycles: Lifecycles, limits: dict[str, int], local: LocalTime
    ) -> None:
        self.seed, self._p, self._life, self._limits, self._local = seed, places, lifecycles, limits, local
        self._channel_cum = cum([w for _, w in CHANNELS])
        self._kind_cum = cum([w for _, w in KINDS])

    def of_minute(self, minute: int, day: Day, not_before: int) -> list[tuple[str, list[Step]]]:
        """The appeals created in one epoch minute of `day` (none before `not_before`), each as (id, steps)."""
        t_min = minute * 60
        mm = (t_min - day.midnight) // 60
        n = day.counts[mm]
        if not n:
            return []
        r = Rng(f"{self.seed}/a/{minute}")
        offsets = sorted(int(60 * r.random()) for _ in range(n))
        p, rnd = self._p, r.random
        out, created, convert = [], [], []
        for j in range(n):
            t0 = t_min + offsets[j]
            aid = f"A{day.ymd}-{day.first[mm] + j + 1:06d}"
            ci = pick(p.cum, rnd())
            fav = p.favourite.get(ci)
            li = fav if fav is not None and rnd() < 0.35 else pick(day.leaf_cum, rnd())
            path, leaf, mix = p.plans[li]
            priority = PRIORITIES[pick(mix, rnd())]
            channel = CHANNELS[pick(self._channel_cum, rnd())][0]
            kind = KINDS[pick(self._kind_cum, rnd())][0]
            fields: dict[str, Any] = {"channel": channel, "kind": kind, "category": path, "priority": priority}
            u = rnd()
            if channel == "grid_patrol" or 0.60 <= u < 0.88:
                mode = "both"
            else:
                mode = "location" if u < 0.60 else "community"
            if mode != "community":
                dist, ang = p.radius[ci] * math.sqrt(rnd()), 2 * math.pi * rnd()
                lat = p.lat[ci] + dist * math.cos(ang) / 111_320.0
                lon = p.lon[ci] + dist * math.sin(ang) / (111_320.0 * math.cos(math.radians(p.lat[ci])))
                shares = CRS_BY_CHANNEL.get(channel, (1.0, 0.0, 0.0))
                v = rnd()
                crs = "wgs84" if v < shares[0] else "gcj02" if v < shares[0] + shares[1] else "bd09"
                fields["location"] = {"lon": round(lon, 6), "lat": round(lat, 6)}
                if crs != "wgs84":
                    convert.append((fields, crs, lon, lat))
                elif rnd() < 0.5:
                    fields["location"]["crs"] = "wgs84"
            if mode != "location":
                fields["community"] = p.code[ci]
            if rnd() < 0.85:
                fields["address"] = texts.address(r, p, ci)
            if rnd() < 0.97:
                fields["summary"] = texts.summary(r, p.name[ci], kind, leaf.problem)
            if rnd() < 0.03:
                fields["due_at"] = self._local.stamp(t0 + self._limits[priority])
            steps = self._life.plan(r, t0, priority, li, ci)
            if t0 >= not_before:
                out.append((aid, steps))
                created.append((steps, fields))
        if convert:
            self._convert(convert)
        for steps, fields in created:
            steps[0] = (steps[0][0], "created", frag(fields))
        return out

    @staticmethod
    def _convert(items: list[tuple[dict[str, Any], str, float, float]]) -> None:
        """Replace WGS-84 locations by their GCJ-02 or BD-09 coordinates, in one vectorised pass."""
        gx, gy = wgs84_to_gcj02([x[2] for x in items], [x[3] for x in items])
        bx, by = gcj02_to_bd09(gx, gy)
        for k, (fields, crs, _, _) in enumerate(items):
            x, y = (gx[k], gy[k]) if crs == "gcj02" else (bx[k], by[k])
            fields["location"] = {"lon": round(float(x), 6), "lat": round(float(y), 6), "crs": crs}

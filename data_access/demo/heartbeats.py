"""Grid members' presence in the demo: shifts, a heartbeat now and then with a position near home,
busy while handling an appeal, and a few SOS incidents a day."""

from __future__ import annotations

import math
import random
from datetime import date

from data_access.demo.places import Places
from data_access.demo.schedule import Day, LocalTime

MAX_BEATS_PER_S = 3000  # cap on wall-clock heartbeat rate: the beat period stretches at high speed-ups


def beat_period(members: int, speedup: float) -> int:
    """Minutes between two heartbeats of a member: 3, longer when the roster and the speed-up are large."""
    return max(3, math.ceil(members * speedup / (60 * MAX_BEATS_PER_S)))


class Heartbeats:
    """The heartbeats of each minute, and the SOS incidents of each day, from the seed."""

    def __init__(self, seed: int, places: Places, local: LocalTime, period: int) -> None:
        self.seed, self._p, self._local, self.period = seed, places, local, period

    def sos_plan(self, day: date, midnight: int) -> dict[int, list[int]]:
        """Two to four SOS incidents a day, each a member on shift in distress for 3–10 minutes."""
        p = self._p
        if not p.member_ids:
            return {}
        r = random.Random(f"{self.seed}/sos/{day.toordinal()}")
        plan: dict[int, list[int]] = {}
        for _ in range(r.randint(2, 4)):
            mm = r.randrange(510, 1200)
            i = r.randrange(len(p.member_ids))
            for _ in range(50):
                if self.on_shift(i, mm) and p.member_home[i] is not None:
                    break
                i = r.randrange(len(p.member_ids))
            for k in range(r.randint(3, 10)):
                plan.setdefault(midnight // 60 + mm + k, []).append(i)
        return plan

    def on_shift(self, i: int, mm: int) -> bool:
        """Whether member i works at minute mm of a local day."""
        return (mm - self._p.shift_start[i]) % 1440 < self._p.shift_len[i]

    def of_minute(self, minute: int, day: Day, busy: dict[str, list[tuple[int, int]]]) -> list[tuple[int, str]]:
        """Heartbeats (time, JSON) of one epoch minute of `day`: a rotating 1/period of the roster, plus any SOS;
        members with a `busy` spell then say so."""
        p, period = self._p, self.period
        n = len(p.member_ids)
        if not n:
            return []
        t_min = minute * 60
        mm = (t_min - day.midnight) // 60
        r = random.Random(f"{self.seed}/p/{minute}")
        sos = day.sos.get(minute, [])
        stamps = [self._local.stamp(t_min + k) for k in range(60)]
        ids, start, length = p.member_ids, p.shift_start, p.shift_len
        out = []
        rotation = range((-minute) % period, n, period)
        for i in sorted(set(rotation) | set(sos)) if sos else rotation:
            if sos and i in sos:
                state = "sos"
            elif (mm - start[i]) % 1440 < length[i]:
                state = "on_duty"
            elif (mm - start[i] - length[i]) % 1440 < period:
                state = "off_duty"  # signs off once after the shift, then stays silent
            else:
                continue
            sec = int(60 * r.random())
            t = t_min + sec
            spells = busy.get(ids[i])
            if spells and state == "on_duty" and any(s <= t < e for s, e in spells):
                state = "busy"
            home = p.member_home[i]
            if home is None:
                out.append((t, f'{{"v":1,"member":{p.member_json[i]},"at":"{stamps[sec]}","state":"{state}"}}'))
                continue
            dist, ang = 400.0 * math.sqrt(r.random()), 2 * math.pi * r.random()
            lat = home[1] + dist * math.cos(ang) / 111_320.0
            lon = home[0] + dist * math.sin(ang) / (111_320.0 * math.cos(math.radians(home[1])))
            out.append(
                (
                    t,
                    (
                        f'{{"v":1,"member":{p.member_json[i]},"at":"{stamps[sec]}","state":"{state}",'
                        f'"lon":{lon:.6f},"lat":{lat:.6f}}}'
                    ),
                )
            )
        return out

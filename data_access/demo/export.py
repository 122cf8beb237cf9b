"""The demo city's history as an old system's export: one row per appeal in the columns of `MAPPING`, a local day
at a time, every column drawn for the whole day at once (numpy), so that a month at Beijing's volume is made in
seconds and goes into the store through the history import's column path (`python app.py import`'s).

The appeals are the live feed's: the same per-minute counts of each day (`schedule.Calendar`), hence the same ids
(`A<yyyymmdd>-<n>`), over the same communities, catalogue leaves, priorities, channels and kinds with the same
weights, handled by the same units and members (`Lifecycles.handlers`), with lifecycles of the same shapes, odds
and timing (`lifecycles.py`), texts from the same tables (`texts.py`). What each appeal is follows from (seed, its
day) alone, whatever window of the day is asked for. Cut at a moment (`cut`), a row holds what happened by then;
what comes after is handed back as the feed's steps (`Pending`), for the live feed to write when it falls due.
Locations are given by community code (no coordinates: the column path places by code)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dashboard.settings import PRIORITIES, Settings
from data_access.demo import texts
from data_access.demo.appeals import CHANNELS, KINDS
from data_access.demo.draws import Rng, cum
from data_access.demo.lifecycles import EXTEND_P, OVERDUE_P, REOPEN_IF_BAD_P, RETURN_P, Lifecycles, Step
from data_access.demo.payloads import frag, quoter
from data_access.demo.places import Places
from data_access.demo.schedule import Calendar, LocalTime
from geo.model import City

#: The mapping of the export (Chinese columns and labels, RFC 3339 times with offsets).
MAPPING = Path(__file__).with_name("export.toml")

I64 = npt.NDArray[np.int64]
CHANNEL_LABELS = {"phone": "电话", "wechat": "微信", "app": "APP", "web": "网站", "grid_patrol": "网格巡查",
                  "visit": "来访", "referral": "转办"}  # fmt: skip
KIND_LABELS = {"consult": "咨询", "request": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议",
               "praise": "表扬"}  # fmt: skip
PRIORITY_LABELS = {"emergency": "紧急", "urgent": "加急", "normal": "一般", "routine": "普通"}
SATISFACTION_LABELS = ("满意", "基本满意", "不满意")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
#: Share of appeals that come with their own due time, then of dispatches that set one (a third of those: half
#: the time limit), as in appeals.py and lifecycles.py.
CREATED_DUE_P, DISPATCH_DUE_P, HALF_DUE_P = 0.03, 0.15, 0.3
HOUR, DAY = 3600, 86400
#: The call-back's fields as the feed writes them, by (responded, resolved, satisfaction).
REVIEW_FRAGS = {
    (a, b, s): frag({"responded": a, "resolved": b, "satisfaction": s})
    for a in (True, False)
    for b in (True, False)
    for s in SATISFACTION
}


#: An appeal open at the cut: (id, every step of its lifecycle as the feed writes them, index of the first not
#: happened yet).
Pending = tuple[str, list[Step], int]


@dataclass
class DayExport:
    """The rows of one local day's appeals (created in the window asked for), column name -> cells (None: empty),
    and the appeals still open at the cut."""

    day: date
    rows: int
    columns: dict[str, list[Any]]
    pending: list[Pending] = field(default_factory=list)

    def batches(self, size: int) -> Iterator[tuple[int, dict[str, list[Any]]]]:
        """(first row's index, columns) of consecutive slices of at most `size` rows."""
        for lo in range(0, self.rows, size):
            yield lo, {c: v[lo : lo + size] for c, v in self.columns.items()}


class DemoHistory:
    """Makes the export of any local day of the demo city (see the module's docstring)."""

    def __init__(self, places: Places, calendar: Calendar, local: LocalTime, limits: dict[str, int], seed: int):
        self.p, self.cal, self.local, self.seed = places, calendar, local, seed
        self.limits = np.array([limits[p] for p in PRIORITIES], np.int64)
        self.life = Lifecycles(places, limits, local, quoter())
        p = places
        self.comm_cum = np.asarray(p.cum)
        self.favourite = np.full(len(p.code), -1, np.int64)
        for ci, li in p.favourite.items():
            self.favourite[ci] = li
        self.mix = np.array([plan[2] for plan in p.plans])  # leaf -> cumulative priority mix
        self.category = np.array(["/".join(plan[0]) for plan in p.plans], object)
        self.problem = [plan[1].problem for plan in p.plans]
        self.channel_cum = np.asarray(cum([w for _, w in CHANNELS]))
        self.kind_cum = np.asarray(cum([w for _, w in KINDS]))
        self.channels = np.array([CHANNEL_LABELS[c] for c, _ in CHANNELS], object)
        self.kinds = [k for k, _ in KINDS]
        self.kind_labels = np.array([KIND_LABELS[k] for k in self.kinds], object)
        self.code = np.array(p.code, object)
        self.q = quoter()

    @classmethod
    def for_city(cls, city: City, settings: Settings, seed: int, per_day: float) -> DemoHistory:
        """A history of `per_day` appeals a day over `city` (what a DemoFeed of the same seed and rate writes)."""
        local = LocalTime(settings.zone)
        places = Places(city, seed)
        calendar = Calendar(seed, per_day, local, places.leaves, lambda _d, _m: {})
        limits = {p: int(settings.limit(p).total_seconds()) for p in PRIORITIES}
        return cls(places, calendar, local, limits, seed)

    def days_back(self, start: int, end: int) -> list[tuple[date, int, int]]:
        """The local days of [start, end) (whole minutes), latest first, each with its part of the window."""
        out = []
        t = end
        while t > start:
            midnight = self.cal.day(t - 1).midnight
            out.append((self.local_day(t - 1), max(midnight, start), t))
            t = max(midnight, start)
        return out

    def count(self, day: date, lo: int, hi: int) -> int:
        """How many appeals `day(day, lo, hi, …)` holds (whole minutes)."""
        d = self.cal.day(self.local.midnight(day))
        a, b = (max(lo, d.midnight) - d.midnight) // 60, (hi - d.midnight) // 60
        return int(sum(d.counts[a:b]))

    def local_day(self, t: int) -> date:
        s, _ = self.local.offset(t)
        return date(1970, 1, 1) + timedelta(days=(t + s) // DAY)

    # -- one day ------------------------------------------------------------------------------------------------
    def day(self, day: date, lo: int, hi: int, cut: int, which: str = "all") -> DayExport:
        """The appeals of local `day` created in [lo, hi) (whole minutes), as rows holding what happened by `cut`:
        all of them, or only those still `open` at the cut, or only those `closed` by then."""
        d = self.cal.day(self.local.midnight(day))
        counts = np.asarray(d.counts, np.int64)
        total = int(counts.sum())
        rng = np.random.default_rng([self.seed % 2**32, day.toordinal(), 17])
        minute = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        second = np.floor(rng.random(total) * 60).astype(np.int64)
        second = second[np.lexsort((second, minute))]  # within a minute, numbers follow times
        t0_all = d.midnight + minute * 60 + second
        keep = np.flatnonzero((t0_all >= lo) & (t0_all < hi))
        first = self._draw(rng.bit_generator.state, total, keep, t0_all, d.leaf_cum)
        texts_of = self._texts(day, first)
        if which != "all":  # the same draws for the rows kept (each row's are its own), the texts as for all
            chosen = np.flatnonzero((first.life.close_at > cut) == (which == "open"))
            keep = keep[chosen]
            first = self._draw(rng.bit_generator.state, total, keep, t0_all, d.leaf_cum)
            texts_of = (_subset(texts_of[0], chosen), _subset(texts_of[1], chosen))
        a, life, t0, stamp = first, first.life, first.t0, self._stamps
        cols: dict[str, list[Any]] = {
            "工单编号": [f"A{d.ymd}-{k:06d}" for k in (keep + 1).tolist()],
            "受理时间": stamp(t0, t0 <= cut),
            "来源渠道": self.channels[a.chi].tolist(),
            "诉求类型": self.kind_labels[a.ki].tolist(),
            "诉求分类": self.category[a.li].tolist(),
            "紧急程度": [PRIORITY_LABELS[PRIORITIES[i]] for i in a.pi.tolist()],
            "社区编码": self.code[a.ci].tolist(),
            "地址": texts_of[0],
            "诉求内容": texts_of[1],
            "办理时限": stamp(t0 + a.limit, a.created_due),
        }
        cols.update(life.columns(cut, stamp))
        pending = life.pending(cut, cols["工单编号"]) if which != "closed" else []
        return DayExport(day, len(keep), cols, pending)

    def _draw(self, state: Mapping[str, Any], total: int, keep: I64, t0_all: I64, leaf_cum: list[float]) -> _Appeals:
        """The appeals `keep` of a day: every draw made for all of the day's appeals from the generator's
        `state`, in one fixed order, then taken at `keep`."""
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        u = _Draws(rng, total).take(keep)
        a = _Appeals()
        a.t0 = t0_all[keep]
        a.ci = np.minimum(np.searchsorted(self.comm_cum, u(), "right"), len(self.comm_cum) - 1)
        fav = self.favourite[a.ci]
        cal = np.asarray(leaf_cum)
        leaf = np.minimum(np.searchsorted(cal, u(), "right"), len(cal) - 1)
        a.li = np.where((fav >= 0) & (u() < 0.35), fav, leaf)
        a.pi = np.minimum((self.mix[a.li] <= u()[:, None]).sum(1), len(PRIORITIES) - 1)
        a.chi = np.minimum(np.searchsorted(self.channel_cum, u(), "right"), len(self.channel_cum) - 1)
        a.ki = np.minimum(np.searchsorted(self.kind_cum, u(), "right"), len(self.kind_cum) - 1)
        a.limit = self.limits[a.pi]
        a.life = _Life(self, u, a.t0, a.ci, a.li, a.limit, a.pi == 0)  # 0: emergency
        a.has_address, a.has_summary = u() < 0.85, u() < 0.97
        a.created_due = u() < CREATED_DUE_P
        return a

    def _texts(self, day: date, a: _Appeals) -> tuple[list[str | None], list[str | None]]:
        """Addresses and summaries of appeals `a`, in order, from the day's own stream of texts."""
        p, r = self.p, Rng(f"{self.seed}/h/{day.toordinal()}")
        ci_l, li_l, ki_l = a.ci.tolist(), a.li.tolist(), a.ki.tolist()
        address = [texts.address(r, p, c) if x else None for c, x in zip(ci_l, a.has_address.tolist())]
        summary = [
            texts.summary(r, p.name[c], self.kinds[k], self.problem[lf]) if x else None
            for c, lf, k, x in zip(ci_l, li_l, ki_l, a.has_summary.tolist())
        ]
        return address, summary

    def _stamps(self, t: I64, happened: npt.NDArray[np.bool_]) -> list[str | None]:
        """Local RFC 3339 times with their offset (the feed's `LocalTime.stamp`), None where not `happened`."""
        if not len(t):
            return []
        hours = t // HOUR
        uniq, inv = np.unique(hours, return_inverse=True)
        offs = [self.local.offset(int(h) * HOUR) for h in uniq.tolist()]
        secs = np.array([o[0] for o in offs], np.int64)[inv]
        text = np.datetime_as_string((t + secs).astype("datetime64[s]"), unit="s").tolist()
        suffix = [offs[i][1] for i in inv.tolist()]
        return [a + b if h else None for a, b, h in zip(text, suffix, happened.tolist())]


class _Appeals:
    """The draws of a day's appeals (see `DemoHistory._draw`)."""

    t0: I64
    ci: I64
    li: I64
    pi: I64
    chi: I64
    ki: I64
    limit: I64
    life: _Life
    has_address: npt.NDArray[np.bool_]
    has_summary: npt.NDArray[np.bool_]
    created_due: npt.NDArray[np.bool_]


def _subset(values: list[Any], rows: Any) -> list[Any]:
    return [values[i] for i in rows.tolist()]


class _Draws:
    """Uniform draws for every appeal of a day, column by column, in a fixed order: the draws of an appeal do not
    depend on which window of the day is asked for."""

    def __init__(self, rng: np.random.Generator, total: int) -> None:
        self.rng, self.total = rng, total

    def take(self, keep: I64) -> Any:
        def u() -> npt.NDArray[np.float64]:
            return self.rng.random(self.total)[keep]

        return u


class _Life:
    """The lifecycles of a day's appeals, column-wise: `lifecycles.Lifecycles.plan`'s steps, timing and odds."""

    def __init__(self, h: DemoHistory, u: Any, t0: I64, ci: I64, li: I64, limit: I64, fast: Any) -> None:
        self.h, self.n = h, len(t0)
        n = self.n
        p = h.p

        def randint(a: Any, b: Any) -> I64:
            out: I64 = (a + np.floor(u() * (np.asarray(b) - a + 1))).astype(np.int64)
            return out

        def lognorm(mu: float, sigma: float) -> I64:
            return (60 + np.floor(np.exp(mu + sigma * _normal(u(), u())))).astype(np.int64)

        pairs = np.unique(li * len(p.code) + ci)
        handlers = {int(k): h.life.handlers(int(k) // len(p.code), int(k) % len(p.code)) for k in pairs.tolist()}
        key = (li * len(p.code) + ci).tolist()
        first_unit = [handlers[k][0] for k in key]
        alt = [handlers[k][1] for k in key]
        has_alt = np.array([a is not None for a in alt], dtype=bool)
        t = t0 + np.where(fast, randint(60, 300), lognorm(6.8, 0.8))
        self.ret = has_alt & (u() < RETURN_P)
        self.ret_d, self.ret_at = t, t + randint(1800, 6 * HOUR)
        t = np.where(self.ret, self.ret_at + randint(300, HOUR), t)
        self.first_unit = first_unit
        unit = [a if r and a is not None else f for f, a, r in zip(first_unit, alt, self.ret.tolist())]
        self.unit = unit
        street = [p.street[c] for c in ci.tolist()]
        pick = u()
        member: list[str | None] = []
        for c, un, s, x in zip(ci.tolist(), unit, street, pick.tolist()):
            mids = p.handlers.get(c) if un == s else None
            member.append(mids[int(x * len(mids))] if mids else None)
        self.member = member
        clock = t
        self.d = _Dispatch(u, randint, lognorm, t, limit, fast)
        t, due = self.d.accepted, self.d.due
        self.ext = u() < EXTEND_P
        t_ext = np.maximum(t + 600, clock + ((due - clock) * (0.3 + 0.5 * u())).astype(np.int64))
        due_ext = due + (limit * (0.5 + 0.5 * u())).astype(np.int64)
        self.ext_at, self.ext_due = t_ext, due_ext
        t = np.where(self.ext, t_ext, t)
        due = np.where(self.ext, due_ext, due)
        overdue = u() < OVERDUE_P
        self.res_at, late = _resolve(u, t, clock, due, fast, overdue, 1.0)
        self.rev = _Review(h, u, randint, self.res_at, fast, late, again=False)
        self.reopen = self.rev.bad & (u() < REOPEN_IF_BAD_P)
        self.reo_at = self.rev.at + randint(1800, DAY)
        t2 = self.reo_at + randint(300, HOUR)
        self.d2 = _Dispatch(u, randint, lognorm, t2, limit, fast)
        self.res2_at, late2 = _resolve(u, self.d2.accepted, t2, self.d2.due, fast, np.zeros(n, bool), 0.6)
        self.rev2 = _Review(h, u, randint, self.res2_at, fast, late2, again=True)
        last = np.where(self.reopen, self.rev2.at, self.rev.at)
        self.close_at = last + randint(600, 8 * HOUR)
        self.ret_reason = np.array(texts.RETURN_REASONS, object)[randint(0, len(texts.RETURN_REASONS) - 1)]
        self.ext_reason = np.array(texts.EXTEND_REASONS, object)[randint(0, len(texts.EXTEND_REASONS) - 1)]
        self.note = np.array(texts.NOTES, object)[randint(0, len(texts.NOTES) - 1)]
        self.note2 = np.array(texts.NOTES, object)[randint(0, len(texts.NOTES) - 1)]
        self.reo_reason = np.array(texts.REOPEN_REASONS, object)[randint(0, len(texts.REOPEN_REASONS) - 1)]

    def columns(self, cut: int, stamp: Any) -> dict[str, list[Any]]:
        """The lifecycle's columns as they stand at `cut`."""
        n, ret, reo, ext = self.n, self.ret, self.reopen, self.ext
        yes = np.ones(n, bool)

        def when(at: I64, happened: Any = yes) -> tuple[list[str | None], npt.NDArray[np.bool_]]:
            h = np.asarray(happened) & (at <= cut)
            return stamp(at, h), h

        def cells(values: Any, h: npt.NDArray[np.bool_]) -> list[Any]:
            return [v if x else None for v, x in zip(list(values), h.tolist())]

        d, d2 = self.d, self.d2
        first_at = np.where(ret, self.ret_d, d.at)
        c: dict[str, list[Any]] = {}
        c["派单时间"], h = when(first_at)
        c["派单单位"] = cells(self.first_unit, h)
        c["派单时限"] = stamp(d.due, h & ~ret & d.has_due)
        c["改派时间"], h = when(d.at, ret)
        c["改派单位"] = cells(self.unit, h)
        c["改派时限"] = stamp(d.due, h & d.has_due)
        c["退单时间"], h = when(self.ret_at, ret)
        c["退单单位"] = cells(self.first_unit, h)
        c["退单原因"] = cells(self.ret_reason, h)
        c["签收时间"], h = when(d.accepted)
        c["签收单位"] = cells(self.unit, h)
        c["签收人"] = cells(self.member, h)
        c["延期时间"], h = when(self.ext_at, ext)
        c["延期至"] = stamp(self.ext_due, h)
        c["延期原因"] = cells(self.ext_reason, h)
        c["办结时间"], h = when(self.res_at)
        c["办结单位"] = cells(self.unit, h)
        c["办结说明"] = cells(self.note, h)
        for prefix, rev, happened in (("", self.rev, yes), ("二次", self.rev2, reo)):
            c[f"{prefix}回访时间"], h = when(rev.at, happened)
            c[f"{prefix}是否联系"] = cells(np.where(rev.responded, "是", "否"), h)
            c[f"{prefix}是否解决"] = cells(np.where(rev.resolved, "是", "否"), h)
            c[f"{prefix}满意度"] = cells(np.array(SATISFACTION_LABELS, object)[rev.sat], h)
        c["重办时间"], h = when(self.reo_at, reo)
        c["重办原因"] = cells(self.reo_reason, h)
        c["重办派单时间"], h = when(d2.at, reo)
        c["重办派单单位"] = cells(self.unit, h)
        c["重办派单时限"] = stamp(d2.due, h & d2.has_due)
        c["重办签收时间"], h = when(d2.accepted, reo)
        c["重办签收单位"] = cells(self.unit, h)
        c["重办签收人"] = cells(self.member, h)
        c["重办办结时间"], h = when(self.res2_at, reo)
        c["重办办结单位"] = cells(self.unit, h)
        c["重办办结说明"] = cells(self.note2, h)
        c["结案时间"], _ = when(self.close_at)
        return c

    def pending(self, cut: int, ids: list[str]) -> list[Pending]:
        """The appeals not closed by `cut`: their whole lifecycle as the feed's steps, and the first step to come."""
        rows = np.flatnonzero(self.close_at > cut)
        if not len(rows):
            return []
        d, d2, rev, rev2 = self.d, self.d2, self.rev, self.rev2
        arrays = {
            "ret": self.ret, "ret_d": self.ret_d, "ret_at": self.ret_at, "ret_reason": self.ret_reason,
            "at": d.at, "due": d.due, "has_due": d.has_due, "accepted": d.accepted,
            "ext": self.ext, "ext_at": self.ext_at, "ext_due": self.ext_due, "ext_reason": self.ext_reason,
            "res_at": self.res_at, "note": self.note,
            "rev_at": rev.at, "responded": rev.responded, "resolved": rev.resolved, "sat": rev.sat,
            "reopen": self.reopen, "reo_at": self.reo_at, "reo_reason": self.reo_reason,
            "at2": d2.at, "due2": d2.due, "has_due2": d2.has_due, "accepted2": d2.accepted,
            "res2_at": self.res2_at, "note2": self.note2,
            "rev2_at": rev2.at, "responded2": rev2.responded, "resolved2": rev2.resolved, "sat2": rev2.sat,
            "close_at": self.close_at,
        }  # fmt: skip
        cols = {k: v[rows].tolist() for k, v in arrays.items()}
        out: list[Pending] = []
        for j, i in enumerate(rows.tolist()):
            row = {k: v[j] for k, v in cols.items()}
            steps = self.steps(row, self.first_unit[i], self.unit[i], self.member[i])
            x = next(k for k, s in enumerate(steps) if s[0] > cut)
            out.append((ids[i], steps, x))
        return out

    def steps(self, r: dict[str, Any], first_unit: str, unit: str, member: str | None) -> list[Step]:
        """One appeal's lifecycle (`r`: its values of the lifecycle's columns) as `Lifecycles.plan` gives it (the
        created step is not written again: a placeholder stands first so that step numbers, hence event ids, are
        the feed's)."""
        q, fmt = self.h.q, self.h.local.stamp
        unit_q = f',"unit":{q(unit)}'
        accepted = f'{unit_q},"member":{q(member)}' if member else unit_q
        steps: list[Step] = [(0, "created", "")]
        if r["ret"]:
            first_q = f',"unit":{q(first_unit)}'
            steps.append((r["ret_d"], "dispatched", first_q))
            steps.append((r["ret_at"], "returned", f'{first_q},"reason":{q(r["ret_reason"])}'))

        def dispatched(at: int, due: int, has_due: bool, accepted_at: int) -> None:
            steps.append((at, "dispatched", unit_q + (f',"due_at":"{fmt(due)}"' if has_due else "")))
            steps.append((accepted_at, "accepted", accepted))

        dispatched(r["at"], r["due"], r["has_due"], r["accepted"])
        if r["ext"]:
            reason = q(r["ext_reason"])
            steps.append((r["ext_at"], "extended", f',"due_at":"{fmt(r["ext_due"])}","reason":{reason}'))
        steps.append((r["res_at"], "resolved", f'{unit_q},"note":{q(r["note"])}'))
        review = (r["responded"], r["resolved"], SATISFACTION[r["sat"]])
        steps.append((r["rev_at"], "reviewed", REVIEW_FRAGS[review]))
        if r["reopen"]:
            steps.append((r["reo_at"], "reopened", f',"reason":{q(r["reo_reason"])}'))
            dispatched(r["at2"], r["due2"], r["has_due2"], r["accepted2"])
            steps.append((r["res2_at"], "resolved", f'{unit_q},"note":{q(r["note2"])}'))
            review = (r["responded2"], r["resolved2"], SATISFACTION[r["sat2"]])
            steps.append((r["rev2_at"], "reviewed", REVIEW_FRAGS[review]))
        steps.append((r["close_at"], "closed", ""))
        return steps


class _Dispatch:
    """A dispatch and its signing (`Lifecycles._dispatch`): when, the due time it sets."""

    def __init__(self, u: Any, randint: Any, lognorm: Any, t: I64, limit: I64, fast: Any) -> None:
        self.at = t
        self.has_due = u() < DISPATCH_DUE_P
        half = self.has_due & (u() < HALF_DUE_P)
        self.due = t + np.where(half, limit // 2, limit)
        self.accepted = t + np.where(fast, randint(30, 480), lognorm(7.2, 0.9))


def _resolve(u: Any, t: I64, clock: I64, due: I64, fast: Any, overdue: Any, share: float) -> tuple[I64, Any]:
    """When it is resolved (`Lifecycles._resolve`): at a share of the time budget, past it when overdue."""
    budget = due - clock
    a, b = 1.4, 3.4  # Rng.share's Kumaraswamy(a, b)
    k = (1.0 - (1.0 - u()) ** (1.0 / b)) ** (1.0 / a)
    late_at = due + (budget * (0.02 + 0.58 * u())).astype(np.int64)
    on_time = clock + (budget * np.minimum(0.97, share * k)).astype(np.int64)
    at = np.maximum(t + np.where(fast, 600, 1800), np.where(overdue, late_at, on_time))
    return at, at > due


class _Review:
    """The call-back (`Lifecycles._review`): in daytime hours, its three answers, whether it went badly."""

    def __init__(self, h: DemoHistory, u: Any, randint: Any, t: I64, fast: Any, late: Any, again: bool) -> None:
        t = t + np.where(fast, randint(1800, 4 * HOUR), randint(2 * HOUR, 30 * HOUR))
        hours = t // HOUR
        uniq, inv = np.unique(hours, return_inverse=True)
        off = np.array([h.local.offset(int(x) * HOUR)[0] for x in uniq.tolist()], np.int64)[inv]
        sec = (t + off) % DAY
        later = randint(0, 3 * HOUR)
        t = np.where(sec < 9 * HOUR, t + 9 * HOUR - sec + later, t)
        t = np.where(sec >= 20 * HOUR + 1800, t + DAY - sec + 9 * HOUR + later, t)
        self.at = t
        self.responded = u() < 0.97
        p = np.full(len(t), 0.95) if again else np.where(self.responded, 0.905, 0.2) - np.where(late, 0.05, 0.0)
        self.resolved = u() < p
        w = u() + np.where(late, 0.08, 0.0)
        good = np.where(w < 0.88, 0, np.where(w < 0.97, 1, 2))
        poor = np.where(w < 0.25, 0, np.where(w < 0.55, 1, 2))
        self.sat = np.where(self.resolved, good, poor)
        self.bad = ~self.resolved | (self.sat == 2)


def _normal(u1: npt.NDArray[np.float64], u2: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Standard normal draws from two uniforms (Box-Muller)."""
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

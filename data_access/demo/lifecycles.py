"""What happens to each demo appeal after it is created: dispatch, accept, maybe a return or an
extension, resolve, the call-back review, sometimes a reopening, close; with their timing and odds."""

from __future__ import annotations

from collections.abc import Callable

from dashboard import catalogue
from data_access.demo import texts
from data_access.demo.draws import Rng
from data_access.demo.payloads import frag
from data_access.demo.places import Places
from data_access.demo.schedule import LocalTime

#: Odds of a return to the dispatcher, an extension, a resolution past due, a reopening after a bad review.
RETURN_P, EXTEND_P, OVERDUE_P, REOPEN_IF_BAD_P = 0.03, 0.03, 0.04, 0.14
#: One step of a lifecycle: (epoch second, event type, JSON fragment of its own fields).
Step = tuple[int, str, str]


class Lifecycles:
    """Plans the later events of appeals, and remembers when grid members are busy handling one."""

    def __init__(self, places: Places, limits: dict[str, int], local: LocalTime, q: Callable[[str], str]) -> None:
        self._p, self._limits, self._local, self._q = places, limits, local, q
        self._dept: dict[tuple[int, str], str | None] = {}
        #: member id -> (start, end) spells of handling an appeal; heartbeats show them as busy.
        self.busy: dict[str, list[tuple[int, int]]] = {}
        self._review_frags = {
            (a, b, s): frag({"responded": a, "resolved": b, "satisfaction": s})
            for a in (True, False)
            for b in (True, False)
            for s in ("satisfied", "basically_satisfied", "dissatisfied")
        }

    def plan(self, r: Rng, t0: int, priority: str, li: int, ci: int) -> list[Step]:
        """Every later event of one appeal: dispatch, accept, maybe return/extend, resolve, review, close."""
        rnd, fmt, q = r.random, self._local.stamp, self._q
        limit, fast = self._limits[priority], priority == "emergency"
        steps: list[Step] = [(t0, "created", "")]  # the fragment is filled in by the caller
        unit, alt = self.handlers(li, ci)
        t = t0 + (r.randint(60, 300) if fast else 60 + int(r.lognormvariate(6.8, 0.8)))  # median ~15 min
        if alt is not None and rnd() < RETURN_P:
            steps.append((t, "dispatched", f',"unit":{q(unit)}'))
            t += r.randint(1800, 6 * 3600)
            steps.append((t, "returned", f',"unit":{q(unit)},"reason":{q(r.pick(texts.RETURN_REASONS))}'))
            t += r.randint(300, 3600)
            unit = alt
        member = None
        if unit == self._p.street[ci]:
            mids = self._p.handlers.get(ci)
            member = r.pick(mids) if mids else None
        clock = t
        t, due = self._dispatch(r, steps, t, unit, member, limit, fast)
        if rnd() < EXTEND_P:
            t = max(t + 600, clock + int((due - clock) * r.uniform(0.3, 0.8)))
            due += int(limit * r.uniform(0.5, 1.0))
            steps.append((t, "extended", f',"due_at":"{fmt(due)}","reason":{q(r.pick(texts.EXTEND_REASONS))}'))
        t, late = self._resolve(r, steps, t, clock, due, unit, member, fast, rnd() < OVERDUE_P)
        t, bad = self._review(r, steps, t, fast, late, again=False)
        if bad and rnd() < REOPEN_IF_BAD_P:
            t += r.randint(1800, 86400)
            steps.append((t, "reopened", f',"reason":{q(r.pick(texts.REOPEN_REASONS))}'))
            t += r.randint(300, 3600)
            clock = t
            t, due = self._dispatch(r, steps, t, unit, member, limit, fast)
            t, late = self._resolve(r, steps, t, clock, due, unit, member, fast, False, share=0.6)
            t, _ = self._review(r, steps, t, fast, late, again=True)
        steps.append((t + r.randint(600, 8 * 3600), "closed", ""))
        return steps

    def prune_busy(self, t: int) -> None:
        """Forget busy spells that ended before t (once a simulated day)."""
        for mid in list(self.busy):
            kept = [iv for iv in self.busy[mid] if iv[1] > t]
            if kept:
                self.busy[mid] = kept
            else:
                del self.busy[mid]

    def handlers(self, li: int, ci: int) -> tuple[str, str | None]:
        """(first unit, unit it goes to after a return or None) for leaf li at community ci."""
        p, (path, leaf, _) = self._p, self._p.plans[li]
        street, district = p.street[ci], p.district[ci]
        key = (li, district)
        if key in self._dept:
            dept = self._dept[key]
        else:
            hints = leaf.hints or catalogue.CLASSES[path[0]].hints
            dept = self._dept[key] = p.unit_for(hints, leaf.kind if leaf.kind != "street" else "department", district)
        if leaf.kind != "street" and dept is not None:
            return dept, street
        return street, dept or p.neighbour.get(street)

    def _dispatch(
        self, r: Rng, steps: list[Step], t: int, unit: str, member: str | None, limit: int, fast: bool
    ) -> tuple[int, int]:
        """Append dispatched (sometimes with due_at) and accepted; return (time, due)."""
        due, unit_q = t + limit, f',"unit":{self._q(unit)}'
        if r.random() < 0.15:
            if r.random() < 0.3:
                due = t + limit // 2
            steps.append((t, "dispatched", f'{unit_q},"due_at":"{self._local.stamp(due)}"'))
        else:
            steps.append((t, "dispatched", unit_q))
        t += r.randint(30, 480) if fast else 60 + int(r.lognormvariate(7.2, 0.9))  # median ~25 min
        steps.append((t, "accepted", f'{unit_q},"member":{self._q(member)}' if member else unit_q))
        return t, due

    def _resolve(
        self,
        r: Rng,
        steps: list[Step],
        t: int,
        clock: int,
        due: int,
        unit: str,
        member: str | None,
        fast: bool,
        overdue: bool,
        share: float = 1.0,
    ) -> tuple[int, bool]:
        """Append resolved at a share of the time budget (past it when overdue); return (time, late)."""
        budget = due - clock
        if overdue:
            t_res = due + int(budget * r.uniform(0.02, 0.6))
        else:
            t_res = clock + int(budget * min(0.97, share * r.share(1.4, 3.4)))
        t = max(t + (600 if fast else 1800), t_res)
        if member is not None:
            self.busy.setdefault(member, []).append((t - r.randint(1200, 5400), t))
        steps.append((t, "resolved", f',"unit":{self._q(unit)},"note":{self._q(r.pick(texts.NOTES))}'))
        return t, t > due

    def _review(self, r: Rng, steps: list[Step], t: int, fast: bool, late: bool, again: bool) -> tuple[int, bool]:
        """Append the call-back (in daytime hours); return (time, whether it went badly)."""
        t += r.randint(1800, 4 * 3600) if fast else r.randint(2 * 3600, 30 * 3600)
        s, _ = self._local.offset(t)
        sec = (t + s) % 86400
        if sec < 9 * 3600:
            t += 9 * 3600 - sec + r.randint(0, 3 * 3600)
        elif sec >= 20 * 3600 + 1800:
            t += 86400 - sec + 9 * 3600 + r.randint(0, 3 * 3600)
        responded = r.random() < 0.97
        resolved = r.random() < (0.95 if again else (0.905 if responded else 0.2) - (0.05 if late else 0.0))
        u = r.random() + (0.08 if late else 0.0)
        if resolved:
            sat = "satisfied" if u < 0.88 else "basically_satisfied" if u < 0.97 else "dissatisfied"
        else:
            sat = "satisfied" if u < 0.25 else "basically_satisfied" if u < 0.55 else "dissatisfied"
        steps.append((t, "reviewed", self._review_frags[(responded, resolved, sat)]))
        return t, not resolved or sat == "dissatisfied"

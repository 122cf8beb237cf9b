"""The escalation ladder (督办升级): who is told, and when, as an appeal drags on.

Everything the ladder means is defined here, in one place (`Ladder`, `DEFAULT`):

* **Steps**, each a trigger and its recipients (duties: a role at the appeal's unit, district, street or grid,
  found in the contacts roster). The defaults:
  1. `yellow`: the light turns yellow (half the time used, `appeals.yellow_from`) → the handling unit's
     **leader in charge** (分管负责人). Not sent once the appeal is already red: the red step says more.
  2. `red`: the light turns red (overdue, `appeals.red_from`) → the unit's **principal leader** (主要负责人)
     and the **command center** of the appeal's district.
  3. `unattended`: red, and no grid member of the appeal's grid is online (a fresh heartbeat, on duty, busy
     or SOS) → the grid's **supervisor**. Judged when the appeal turns red (and whenever the engine looks at
     the appeal again for another step); a grid that empties later, while the appeal stays red, is not
     watched.
  4. `case`: overdue for more than `overdue_case` (3 days by default), or returned (退单) `returns_case`
     times, or reopened (重办) `reopens_case` times → a **supervision case** (督办件) at the district's
     supervision office, which is also told; with `street_office`, an appeal handled by a street (a unit of
     kind street) goes to that street's office instead. No second case while the appeal has one still open
     or answered. Overdue re-arms with the situation (below); the counts never go down, so a case for them
     opens once per appeal (recorded with no unit and the reason as its situation).
  5. **Raise**: a case still open or answered `raise_after` after it was opened is raised to the **city**
     level (a city case, the old one marked raised), and the city supervision office is told. Not for an
     appeal resolved meanwhile, nor a case already at the city level.
* **Once per situation**: each step fires once per appeal, handling unit and **situation**. The situation is
  the dispatch the clock runs from and the number of approved extensions (`situation`): a re-dispatch (to
  the same or another unit) or an approved extension is a new situation, so the ladder is re-armed and fires
  again as the new deadline nears. The store's key (appeal, step, unit, situation) refuses a second firing,
  whichever process tries.
* **Stops**: a resolved or closed appeal (not open) fires nothing.
* **Messages**: one per recipient, in the recipient's language (Chinese unless it says English): the
  appeal's id, place, category, how late (or how much time is left) and a link to the appeal's page
  (`/area/a/<id>`, see dashboard/drill.py).

`due_steps` states the rules over one appeal's facts; the engine (data_access/supervision/engine.py) only
finds the appeals that may have crossed a threshold, asks `due_steps`, and records what it answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from dashboard import i18n
from dashboard.settings import Settings

#: Roles of the contacts roster, by the kind of place or unit they belong to.
ROSTER_ROLES: dict[str, tuple[str, ...]] = {
    "unit": ("leader_in_charge", "principal"),
    "district": ("supervision_office", "command_center"),
    "street": ("supervision_office", "command_center"),
    "grid": ("supervisor",),
    "city": ("supervision_office", "command_center"),
}
#: Triggers a step may have.
TRIGGERS = ("yellow", "red", "unattended", "case")
#: Where a step's case goes: the district's supervision office, or the street's for street-handled appeals.
CASE_LEVELS = ("street", "district", "city")
#: Who rule-made actions are recorded as.
RULE = "rule"


@dataclass(frozen=True)
class Duty:
    """A recipient of a step: `role` at the appeal's `of` (unit, district, street, grid; city: the city's)."""

    role: str
    of: str

    def __post_init__(self) -> None:
        if self.of not in ROSTER_ROLES or self.role not in ROSTER_ROLES[self.of]:
            raise ValueError(f"no role {self.role!r} at a {self.of!r} in the roster")


@dataclass(frozen=True)
class Step:
    """One rung: when it fires (`trigger`, one of TRIGGERS) and who is told."""

    name: str
    trigger: str
    duties: tuple[Duty, ...]

    def __post_init__(self) -> None:
        if self.trigger not in TRIGGERS:
            raise ValueError(f"step {self.name!r}: unknown trigger {self.trigger!r} (one of {', '.join(TRIGGERS)})")


@dataclass(frozen=True)
class Ladder:
    """The ladder's steps and thresholds (see the module's docstring)."""

    steps: tuple[Step, ...] = (
        Step("yellow", "yellow", (Duty("leader_in_charge", "unit"),)),
        Step("red", "red", (Duty("principal", "unit"), Duty("command_center", "district"))),
        Step("unattended", "unattended", (Duty("supervisor", "grid"),)),
        Step("case", "case", ()),  # the office the case goes to is told (`case_duty`)
    )
    overdue_case: timedelta = timedelta(days=3)
    returns_case: int = 2
    reopens_case: int = 2
    street_office: bool = False
    case_due: timedelta = timedelta(days=2)
    raise_after: timedelta = timedelta(days=3)

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names repeat: {names}")
        if min(self.overdue_case, self.case_due, self.raise_after) <= timedelta(0):
            raise ValueError("overdue_case, case_due and raise_after must be positive")
        if min(self.returns_case, self.reopens_case) < 1:
            raise ValueError("returns_case and reopens_case must be at least 1")


DEFAULT = Ladder()


def ladder_of(settings: Settings) -> Ladder:
    """The default steps with the thresholds of the settings (ESCALATION_*)."""
    return Ladder(
        overdue_case=timedelta(hours=settings.escalation_overdue_case_h),
        returns_case=settings.escalation_returns_case,
        reopens_case=settings.escalation_reopens_case,
        street_office=settings.escalation_street_office,
        case_due=timedelta(hours=settings.escalation_case_due_h),
        raise_after=timedelta(hours=settings.escalation_raise_after_h),
    )


#: The step name under which raising a case is recorded (its own rung above the case step).
RAISE = "raise"


@dataclass(frozen=True)
class Facts:
    """What the ladder needs to know of one appeal (read by the engine from the store)."""

    id: str
    is_open: bool
    unit: str | None
    unit_kind: str | None  # street | department | company (None: no handling unit)
    district: str | None
    street: str | None
    grid: str | None
    clock_start: datetime
    extension_count: int
    yellow_from: datetime
    red_from: datetime
    due_at: datetime
    return_count: int = 0
    reopen_count: int = 0
    members_online: bool | None = None  # None: unknown (no grid)
    has_live_case: bool = False
    category: str = ""
    place: str = ""  # the place's name, as the message shows it


def situation(clock_start: datetime, extension_count: int) -> str:
    """The situation a step belongs to: the dispatch its clock runs from and the extensions approved since."""
    return f"{clock_start.strftime('%Y%m%dT%H%M%S.%f')}+{extension_count}"


@dataclass(frozen=True)
class CaseOrder:
    """A case a step opens: its level and office (an area code, or "city")."""

    level: str
    office: str
    due_at: datetime
    reason: str


@dataclass(frozen=True)
class Firing:
    """A step due now: recorded once per (appeal, step, unit, armed_by); tells `recipients`; may open a case."""

    appeal: str
    step: str
    trigger: str
    unit: str  # "" when the appeal has no handling unit
    armed_by: str
    recipients: tuple[tuple[str, str, str], ...]  # (kind, code, role) of the roster
    case: CaseOrder | None = None


def _code(facts: Facts, of: str) -> str | None:
    return {"unit": facts.unit, "district": facts.district, "street": facts.street, "grid": facts.grid}.get(of, "city")


def _recipients(facts: Facts, duties: Iterable[Duty]) -> tuple[tuple[str, str, str], ...]:
    out = []
    for d in duties:
        code = _code(facts, d.of)
        if code:
            out.append((d.of, code, d.role))
    return tuple(out)


def case_reason(facts: Facts, now: datetime, ladder: Ladder) -> str | None:
    """Why the appeal should become a case now (a short code: overdue, returned, reopened), or None."""
    if now >= facts.due_at + ladder.overdue_case:
        return "overdue"
    if facts.return_count >= ladder.returns_case:
        return "returned"
    if facts.reopen_count >= ladder.reopens_case:
        return "reopened"
    return None


def case_office(facts: Facts, ladder: Ladder) -> tuple[str, str] | None:
    """(level, office) of a case on this appeal: the street's office for a street-handled appeal when
    `street_office` is on, else the district's; None for an appeal placed in no district."""
    if ladder.street_office and facts.unit_kind == "street" and facts.unit:
        return "street", facts.unit
    if facts.district:
        return "district", facts.district
    return None


def _triggered(step: Step, facts: Facts, now: datetime, ladder: Ladder) -> bool:
    if step.trigger == "yellow":
        return facts.yellow_from <= now < facts.red_from
    if step.trigger == "red":
        return facts.red_from <= now
    if step.trigger == "unattended":
        return facts.red_from <= now and facts.grid is not None and facts.members_online is False
    return not facts.has_live_case and case_reason(facts, now, ladder) is not None


def due_steps(
    facts: Facts, now: datetime, fired: Iterable[tuple[str, str, str]] = (), ladder: Ladder = DEFAULT
) -> list[Firing]:
    """The steps of the ladder due for this appeal at `now`, leaving out those already `fired`
    ((step, unit, armed_by) triples recorded before)."""
    if not facts.is_open:
        return []
    done = set(fired)
    unit = facts.unit or ""
    armed = situation(facts.clock_start, facts.extension_count)
    out: list[Firing] = []
    for step in ladder.steps:
        if not _triggered(step, facts, now, ladder):
            continue
        key_unit, key_armed = unit, armed
        case = None
        recipients = _recipients(facts, step.duties)
        if step.trigger == "case":
            where = case_office(facts, ladder)
            if where is None:
                continue
            level, office = where
            reason = case_reason(facts, now, ladder) or ""
            if reason != "overdue":  # the counts never go down: once per appeal, whatever its unit or clock
                key_unit, key_armed = "", reason
            case = CaseOrder(level, office, now + ladder.case_due, reason)
            recipients += ((level, office, "supervision_office"),)
        if (step.name, key_unit, key_armed) in done:
            continue
        out.append(Firing(facts.id, step.name, step.trigger, key_unit, key_armed, recipients, case))
    return out


def raise_due(
    *, level: str, state: str, opened_at: datetime, appeal_open: bool, now: datetime, ladder: Ladder = DEFAULT
) -> bool:
    """Whether a case should be raised to the city level now."""
    return appeal_open and level != "city" and state in ("open", "answered") and now >= opened_at + ladder.raise_after


# --- messages -----------------------------------------------------------------------------------------------

#: Steps with a title of their own in dashboard/i18n.py (others: "esc_title_other").
_TITLED = ("yellow", "red", "unattended", "case", RAISE)


def appeal_link(appeal: str, base: str = "") -> str:
    """The appeal's page (the drill-down's appeal page), absolute when `base` is the site's address."""
    return f"{base.rstrip('/')}/area/a/{quote(appeal, safe='')}"


@dataclass(frozen=True)
class Message:
    """One message to one recipient: a title and a plain-text body, in the recipient's language."""

    lang: str
    title: str
    body: str
    link: str = ""
    lines: tuple[str, ...] = field(default_factory=tuple)


def lateness(facts: Facts, now: datetime, lang: str) -> str:
    """How late the appeal is ('overdue 3 h 10 min'), or how long is left ('2 h 5 min left, due 18:30')."""
    if now >= facts.due_at:
        return i18n.t(lang, "esc_late", d=i18n.duration(lang, (now - facts.due_at).total_seconds()))
    return i18n.t(lang, "esc_left", d=i18n.duration(lang, (facts.due_at - now).total_seconds()))


def message(
    firing_step: str,
    facts: Facts,
    now: datetime,
    lang: str,
    zone: ZoneInfo,
    link_base: str = "",
    case_reason_code: str | None = None,
) -> Message:
    """The message of a step (or RAISE) about an appeal, in `lang`. Citizen text is never part of it: only the
    id, the place's name, the category, times and the link (a channel may render Markdown)."""
    lang = i18n.lang_of(lang)
    key = f"esc_title_{firing_step}" if firing_step in _TITLED else "esc_title_other"
    title = i18n.t(lang, key, appeal=facts.id)
    link = appeal_link(facts.id, link_base)
    due_local = facts.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    lines = [
        i18n.t(lang, "esc_appeal", appeal=facts.id),
        i18n.t(lang, "esc_place", place=facts.place or "-"),
        i18n.t(lang, "esc_category", category=facts.category or "-"),
        i18n.t(lang, "esc_due", due=due_local, late=lateness(facts, now, lang)),
    ]
    if case_reason_code:
        lines.append(i18n.t(lang, f"esc_reason_{case_reason_code}"))
    lines.append(i18n.t(lang, "esc_link", link=link))
    return Message(lang, title, "\n".join(lines), link, tuple(lines))


def place_name(names: Mapping[str, str], *codes: str | None) -> str:
    """The place's name from its codes, widest first ('朝阳区 / 建外街道 / 网格 3'), skipping unknown codes."""
    return " / ".join(names[c] for c in codes if c and c in names)

"""Supervision cases (督办件), pure: their states and moves, who may do what to them, and their due dates.

A case follows one appeal: it is `open` until the handling unit answers (`answered`), then the office that opened it
closes it (`closed`), or it is `raised` to the level above (a new case there takes over). A chase (催办) reminds the
handling unit and a note adds words; neither moves the state.

Who may act, besides having the appeal in their scope (always checked, on the server, from the signed-in identity):

| action | roles                                    | states it applies to |
| ------ | ---------------------------------------- | -------------------- |
| open   | command center, district and street leaders (each opens a case at its own level) | no live case |
| chase  | command center, district and street leaders | any appeal in scope (a live case or none) |
| answer | street leaders and grid supervisors (the handling side) | open |
| close  | the level that opened the case or above  | open, answered |
| raise  | the level above the case's               | open, answered |
| note   | everyone with the appeal in scope        | open, answered |

Due dates by level: street 3 days, district 5 days, city 7 days from opening (`DUE_DAYS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from dashboard.scopes import COMMAND_CENTER, DISTRICT_LEADER, GRID_SUPERVISOR, STREET_LEADER

STATES = ("open", "answered", "closed", "raised")
#: States in which a case is still followed (the appeal has a live case).
LIVE = ("open", "answered")
CASE_LEVELS = ("street", "district", "city")
ACTIONS = ("open", "chase", "answer", "close", "raise", "note")
#: Actions a user may take from the screens (`raise` is also the escalation engine's).
SCREEN_ACTIONS = ("open", "chase", "answer", "close", "note")

#: Days from opening to a case's due time, by its level.
DUE_DAYS = {"street": 3, "district": 5, "city": 7}

#: The state an action moves a case to (None: the state stays).
MOVES: dict[str, str | None] = {"answer": "answered", "close": "closed", "raise": "raised", "note": None, "chase": None}
#: The states from which each action on an existing case may be taken.
FROM: dict[str, tuple[str, ...]] = {
    "answer": ("open",),
    "close": LIVE,
    "raise": LIVE,
    "note": LIVE,
    "chase": LIVE,
}

#: The level of case each role's office opens.
ROLE_LEVEL = {COMMAND_CENTER: "city", DISTRICT_LEADER: "district", STREET_LEADER: "street"}
_RANK = {"street": 0, "district": 1, "city": 2}
NOTE_MAX = 500


class CaseRefused(ValueError):
    """An action that the rules do not allow; `key` names the i18n text that says why."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(detail or key)
        self.key = key


@dataclass(frozen=True)
class CaseView:
    """What the rules need of a case: its level and state (None: the appeal has no live case)."""

    level: str
    state: str


def due_at(level: str, opened_at: datetime) -> datetime:
    """When a case of this level opened at this time is due."""
    if level not in DUE_DAYS:
        raise ValueError(f"unknown case level {level!r}; one of {', '.join(CASE_LEVELS)}")
    return opened_at + timedelta(days=DUE_DAYS[level])


def is_overdue(state: str, due: datetime | None, now: datetime) -> bool:
    """Whether a case is overdue: still open (not yet answered) after its due time."""
    return state == "open" and due is not None and now > due


def level_for(role: str) -> str:
    """The level of a case opened by hand by this role (raises CaseRefused for roles that open none)."""
    if role not in ROLE_LEVEL:
        raise CaseRefused("case_not_allowed", f"role {role} opens no case")
    return ROLE_LEVEL[role]


def check(action: str, role: str, case: CaseView | None) -> str | None:
    """The state the case moves to when `role` takes `action` on it (None: no move, or a new case for `open`).

    Raises CaseRefused when the rules forbid it. The scope (whether the appeal is the user's) is checked apart."""
    if action not in ACTIONS:
        raise CaseRefused("case_bad_action", f"unknown action {action!r}")
    if action == "open":
        level_for(role)
        if case is not None and case.state in LIVE:
            raise CaseRefused("case_already_open")
        return "open"
    if action == "chase":
        if role not in ROLE_LEVEL:
            raise CaseRefused("case_not_allowed", f"role {role} may not chase")
        return None
    if case is None:
        raise CaseRefused("case_none")
    if case.state not in FROM[action]:
        raise CaseRefused("case_not_live" if case.state not in LIVE else "case_wrong_state")
    if action == "answer" and role not in (STREET_LEADER, GRID_SUPERVISOR):
        raise CaseRefused("case_not_allowed", f"role {role} does not answer cases")
    if action == "close" and (role not in ROLE_LEVEL or _RANK[ROLE_LEVEL[role]] < _RANK[case.level]):
        raise CaseRefused("case_not_allowed", f"role {role} may not close a {case.level} case")
    if action == "raise" and (role not in ROLE_LEVEL or _RANK[ROLE_LEVEL[role]] <= _RANK[case.level]):
        raise CaseRefused("case_not_allowed", f"role {role} may not raise a {case.level} case")
    return MOVES[action]


def allowed_actions(role: str, case: CaseView | None) -> list[str]:
    """The screen actions this role may take on this case now (for the buttons shown)."""
    out = []
    for action in SCREEN_ACTIONS:
        try:
            check(action, role, case)
        except CaseRefused:
            continue
        out.append(action)
    return out


def clean_note(text: str | None) -> str:
    """A note as stored: stripped, control characters dropped, at most NOTE_MAX characters (it stays text)."""
    s = "".join(ch for ch in (text or "") if ch in "\n\t" or ch.isprintable()).strip()
    return s[:NOTE_MAX]


def raise_level(level: str) -> str | None:
    """The level above (None above the city)."""
    return {"street": "district", "district": "city"}.get(level)


LEDGER_PATH = "/supervision"
_UNIT = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@dataclass(frozen=True)
class LedgerFilters:
    """The ledger page's filters, as in its URL: state, level, unit, opened from/to (dates in the city's zone)."""

    state: str | None = None
    level: str | None = None
    unit: str | None = None
    since: date | None = None
    until: date | None = None
    lang: str = "zh"

    def span(self, zone: Any) -> tuple[datetime | None, datetime | None]:
        """[start, end) of the opening dates in the city's zone (end: the day after `until`)."""
        start = None if self.since is None else datetime.combine(self.since, time(), zone)
        end = None if self.until is None else datetime.combine(self.until + timedelta(days=1), time(), zone)
        return start, end

    def query(self, **change: Any) -> str:
        """The URL query of these filters (with `change` applied); empty values are left out."""
        v = {**self.__dict__, **change}
        return "?" + urlencode({k: str(x) for k, x in v.items() if x not in (None, "")})


def parse_ledger_filters(search: str | None, default_lang: str = "zh") -> LedgerFilters:
    """The filters of a ledger URL's query; a bad value raises ValueError naming it (the page says so)."""
    q = dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=False))
    state, level, unit = q.get("state"), q.get("level"), q.get("unit")
    if state is not None and state not in STATES:
        raise ValueError(f"state {state!r}: one of {', '.join(STATES)}")
    if level is not None and level not in CASE_LEVELS:
        raise ValueError(f"level {level!r}: one of {', '.join(CASE_LEVELS)}")
    if unit is not None and not _UNIT.match(unit):
        raise ValueError(f"unit {unit[:20]!r} is not a unit code")
    days = {}
    for k in ("since", "until"):
        if q.get(k):
            try:
                days[k] = date.fromisoformat(q[k][:10])
            except ValueError:
                raise ValueError(f"{k} {q[k][:20]!r} is not a date (YYYY-MM-DD)") from None
    if days.get("since") and days.get("until") and days["since"] > days["until"]:
        raise ValueError("since is after until")
    lang = q.get("lang") if q.get("lang") in ("zh", "en") else default_lang
    return LedgerFilters(state, level, unit, days.get("since"), days.get("until"), lang or "zh")

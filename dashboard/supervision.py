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

from dataclasses import dataclass
from datetime import datetime, timedelta

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

"""Component ids of supervision cases: the 督办/催办 buttons, their confirmation, and the ledger page."""

from __future__ import annotations

from dashboard.supervision import SCREEN_ACTIONS

# In the shell, on every page: the confirmation, what it confirms, the result, and a count of actions done.
CONFIRM = "case-confirm"
PENDING = "case-pending"
RESULT = "case-result"
DONE = "case-done"

#: Pattern type of a button on an appeal (the appeal page, red-list rows): {"type", "action", "appeal"}.
BUTTON_TYPE = "case-button"
#: Pattern type of the ledger's filters: {"type", "name"}.
FILTER_TYPE = "ledger-filter"
FILTER_NAMES = ("state", "level", "unit")
#: Pattern type of the ledger's two date pickers (their property is `date`): {"type", "name"}.
DAY_TYPE = "ledger-day"
DAY_NAMES = ("since", "until")
#: Pattern type of the ledger's buttons on the selected case: {"type", "action"}.
ACT_TYPE = "ledger-act"

#: The appeal page's supervision panel (redrawn after an action).
APPEAL_CASES = "case-appeal-cases"

LEDGER = "ledger-page"
GRID = "ledger-grid"
NOTE = "ledger-note"
HISTORY = "ledger-history"


def button(action: str, appeal: str) -> dict[str, str]:
    """Pattern-matching id of an appeal's open or chase button."""
    if action not in ("open", "chase"):
        raise KeyError(f"no appeal button {action!r}")
    return {"type": BUTTON_TYPE, "action": action, "appeal": appeal}


def act(action: str) -> dict[str, str]:
    """Pattern-matching id of a ledger button acting on the selected case."""
    if action not in SCREEN_ACTIONS or action in ("open", "chase"):
        raise KeyError(f"no ledger button {action!r}")
    return {"type": ACT_TYPE, "action": action}


def ledger_filter(name: str) -> dict[str, str]:
    """Pattern-matching id of a ledger filter control (a dropdown, or a date picker for since/until)."""
    if name in DAY_NAMES:
        return {"type": DAY_TYPE, "name": name}
    if name not in FILTER_NAMES:
        raise KeyError(f"unknown ledger filter {name!r}")
    return {"type": FILTER_TYPE, "name": name}

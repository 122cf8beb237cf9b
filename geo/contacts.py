"""The contacts roster: who answers for each handling unit, district, street and grid (contacts.csv).

One row per person and duty, columns:

    kind,code,role,name,phone,email,wecom,dingtalk,feishu,lang

* `kind` and `role` (dashboard.escalation.ROSTER_ROLES): `unit` leader_in_charge (分管负责人) or principal
  (主要负责人); `district` and `street` supervision_office (督查/督办) or command_center; `grid` supervisor;
  `city` (code `city`) supervision_office or command_center, who receive raised cases.
* `code` exists in the city (units.csv, districts, streets, grids).
* `name` is required, and at least one way to reach the person: a phone (digits, optional leading +, spaces or
  dashes), an e-mail address, or a chat id (WeCom, DingTalk, Feishu).
* `lang` zh or en (empty: zh), the language of the person's messages.
* Several people may share a duty (each is told); the same person twice for one duty is an error.

The file is checked whole: every problem names the file, the row and what is wrong (CityDataError), and
nothing of a bad file is used. `RosterFile` re-reads the file when it changes (its modification time or size),
so a change applies to the next message; a bad new version is refused and the last good one kept. Each person
becomes a `dashboard.notices.Recipient` (its `role` the duty's role), ready for the outbox.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboard.escalation import ROSTER_ROLES
from dashboard.notices import Recipient
from geo.model import City
from geo.validate import CityDataError, Problems, require_columns

log = logging.getLogger(__name__)

FILE = "contacts.csv"
REQUIRED = ["kind", "code", "role", "name"]
CHANNELS = ["phone", "email", "wecom", "dingtalk", "feishu"]
COLUMNS = REQUIRED + CHANNELS + ["lang"]
LANGS = ("zh", "en")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,23}$")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
CHAT_ID = re.compile(r"^[A-Za-z0-9_.@:\-]{1,128}$")
CITY_CODE = "city"


#: (kind, code, role) → the people answering for it.
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Roster:
    """The checked roster: the people of each (kind, code, role)."""

    people: Mapping[Key, tuple[Recipient, ...]]

    def of(self, key: Key) -> tuple[Recipient, ...]:
        """The people answering for (kind, code, role); empty if nobody is listed."""
        return self.people.get(key, ())

    def unit_leaders(self, unit: str) -> tuple[Recipient, ...]:
        """Whom a chase (催办) of a handling unit reaches: its leader in charge, then its principal leader."""
        return self.of(("unit", unit, "leader_in_charge")) + self.of(("unit", unit, "principal"))

    def __len__(self) -> int:
        return sum(len(v) for v in self.people.values())


def _known_codes(city: City) -> dict[str, set[str]]:
    return {
        "unit": set(city.units["code"].dropna()),
        "district": set(city.districts["code"].dropna()),
        "street": set(city.streets["code"].dropna()),
        "grid": set(city.grids["code"].dropna()),
        "city": {CITY_CODE},
    }


def _text(v: object) -> str | None:
    """A cell that is not a string: None when missing (None, NaN, NA), else its text."""
    if v is None or pd.isna(v):
        return None
    return str(v).strip() or None


def check_roster(frame: pd.DataFrame, city: City, file: Path) -> Roster:
    """The roster of a contacts frame (text cells, None for empty), or CityDataError listing every problem."""
    out = Problems()
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    if not require_columns(frame, REQUIRED, file, out):
        out.raise_if_any()
    known = _known_codes(city)
    people: dict[Key, list[Recipient]] = {}
    seen: dict[tuple[str, str, str, str], int] = {}

    def column(col: str) -> list[str | None]:
        if col not in frame.columns:
            return [None] * len(frame)
        return [(v.strip() or None) if isinstance(v, str) else _text(v) for v in frame[col].tolist()]

    cells = {c: column(c) for c in COLUMNS}
    for i in range(len(frame)):
        row = {c: cells[c][i] for c in COLUMNS}
        kind, code, role, name = (row[c] for c in REQUIRED)
        for col, v in zip(REQUIRED, (kind, code, role, name)):
            if v is None:
                out.add(file, i, code, f"empty {col}")
        if None in (kind, code, role, name):
            continue
        assert kind and code and role and name
        if kind not in ROSTER_ROLES:
            out.add(file, i, code, f"unknown kind {kind!r} (one of {', '.join(ROSTER_ROLES)})")
            continue
        if role not in ROSTER_ROLES[kind]:
            out.add(file, i, code, f"role {role!r} is not a {kind} role (one of {', '.join(ROSTER_ROLES[kind])})")
        if code not in known[kind]:
            out.add(file, i, code, f"unknown {kind} {code!r} (not in the city)")
        values = {c: row[c] for c in CHANNELS}
        if not any(values.values()):
            out.add(file, i, code, f"no way to reach {name}: give at least one of {', '.join(CHANNELS)}")
        if values["phone"] and not PHONE.match(values["phone"]):
            out.add(file, i, code, f"phone {values['phone']!r} is not a phone number")
        if values["email"] and not EMAIL.match(values["email"]):
            out.add(file, i, code, f"email {values['email']!r} is not an e-mail address")
        for chat in ("wecom", "dingtalk", "feishu"):
            if values[chat] and not CHAT_ID.match(values[chat] or ""):
                out.add(file, i, code, f"{chat} id {values[chat]!r} has characters a chat id does not")
        lang = row["lang"] or "zh"
        if lang not in LANGS:
            out.add(file, i, code, f"lang {lang!r} is not zh or en")
        twin = (kind, code, role, name)
        if twin in seen:
            out.add(file, i, code, f"{name} is already {role} of this {kind} on row {seen[twin] + 1}")
            continue
        seen[twin] = i
        people.setdefault((kind, code, role), []).append(Recipient(name=name, role=role, language=lang, **values))
    out.raise_if_any()
    return Roster({k: tuple(v) for k, v in people.items()})


def read_roster(path: Path, city: City) -> Roster:
    """Read and check a contacts file (UTF-8 CSV, a BOM allowed); CityDataError names what is wrong."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise CityDataError([f"{path}: no such file"]) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is a problem of this file
        raise CityDataError([f"{path}: cannot be read as UTF-8 CSV: {exc}"]) from None
    return check_roster(frame, city, path)


def missing_duties(roster: Roster, city: City) -> list[Key]:
    """Duties of the city nobody answers for (every unit's two leaders, every district's and street's office and
    command center, every grid's supervisor, the city's office)."""
    wanted: list[Key] = []
    codes = _known_codes(city)
    for kind, roles in ROSTER_ROLES.items():
        for code in sorted(codes[kind]):
            wanted.extend((kind, code, role) for role in roles)
    return [k for k in wanted if not roster.of(k)]


def roster_frame(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Rows as a contacts frame with the file's columns in order."""
    return pd.DataFrame(list(rows), columns=COLUMNS)


class RosterFile:
    """The roster of a contacts file, re-read when the file changes (modification time or size).

    `current()` answers the roster the next message should use: a new version of the file that fails its
    checks is logged and refused, and the last good roster stays in use."""

    def __init__(self, path: Path, city: City) -> None:
        """Read the file now: a bad file at start-up raises CityDataError (start-up stops naming it)."""
        self.path = Path(path)
        self.city = city
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._roster = read_roster(self.path, city)
        self.error: str | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def current(self) -> Roster:
        """The roster as the file says now (re-read if it changed since the last read)."""
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._roster = read_roster(self.path, self.city)
                    self.error = None
                    log.info("contacts roster re-read from %s: %d entries", self.path, len(self._roster))
                except CityDataError as exc:
                    self.error = str(exc)
                    log.error("contacts roster %s not re-read, the last good one stays in use: %s", self.path, exc)
            return self._roster


class FixedRoster:
    """A roster that does not change (the demo city's, made in memory)."""

    def __init__(self, roster: Roster) -> None:
        self._roster = roster
        self.error: str | None = None

    def current(self) -> Roster:
        return self._roster

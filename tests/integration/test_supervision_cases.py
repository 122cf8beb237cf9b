"""Supervision cases in a real store (SQLite and PostgreSQL): open, raise once, every action recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from data_access.store.models import SupervisionAction, SupervisionCase
from data_access.supervision.cases import open_case, raise_case, record_action

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
APPEAL = {"id": "A-1", "district": "110105", "street": "110105001", "grid": "G1", "unit": "U1"}


def test_cases001_open_raise_and_actions(store: Any) -> None:
    """A case opened by a rule keeps the appeal's place; raising it opens a city case once; a second raise is
    refused; every step is an action with who and when."""
    _engine, sessions, _url = store
    with sessions() as s, s.begin():
        cid = open_case(
            s,
            appeal=APPEAL,
            level="district",
            office="110105",
            rule="case",
            opened_by="rule",
            now=NOW,
            due_at=NOW + timedelta(days=2),
            reason="overdue 3 days",
        )
        record_action(s, appeal="A-1", action="chase", by="alice", at=NOW + timedelta(hours=1), note="")
    with sessions() as s, s.begin():
        city = raise_case(s, cid, now=NOW + timedelta(days=3), by="rule")
    with sessions() as s, s.begin(), pytest.raises(ValueError, match="cannot be raised"):
        raise_case(s, cid, now=NOW + timedelta(days=4), by="rule")
    with sessions() as s:
        cases = {c.id: c for c in s.scalars(select(SupervisionCase))}
        actions = [
            (a.case_id, a.action, a.by) for a in s.scalars(select(SupervisionAction).order_by(SupervisionAction.id))
        ]
    assert cases[cid].state == "raised" and cases[cid].raised_to == city
    assert (cases[city].level, cases[city].office, cases[city].state) == ("city", "city", "open")
    assert (cases[city].district, cases[city].street, cases[city].grid, cases[city].unit) == (
        "110105",
        "110105001",
        "G1",
        "U1",
    )
    assert cases[city].due_at == NOW + timedelta(days=5)  # as long as the district case had
    assert actions == [(cid, "open", "rule"), (None, "chase", "alice"), (city, "open", "rule"), (cid, "raise", "rule")]


def test_cases002_bad_level_and_action_refused(store: Any) -> None:
    _engine, sessions, _url = store
    with sessions() as s, s.begin():
        with pytest.raises(ValueError, match="level"):
            open_case(
                s, appeal=APPEAL, level="county", office="x", rule=None, opened_by="bob", now=NOW, due_at=NOW, reason=""
            )
        with pytest.raises(ValueError, match="action"):
            record_action(s, appeal="A-1", action="shout", by="bob", at=NOW)

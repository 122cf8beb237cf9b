"""Helpers of the supervision case tests: a world per backend (the drill-down scenario, a few accounts, the real
app) and forged or honest /_dash-update-component requests to named callbacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from data_access.intake.reference_data import Gazetteer
from geo.model import City
from tests.conftest import REDIS_URL, make_store, new_prefix, redis_client, settings_for
from tests.drill_support import accounts, drill_app, load
from tests.wall_support import services


@contextmanager
def case_world(
    kind: str, city: City, gazetteer: Gazetteer, folder: Path, users: tuple[str, ...]
) -> Iterator[dict[str, Any]]:
    """A store of `kind` with the drill-down scenario (own street + another district), these accounts, the app."""
    prefix = new_prefix()
    settings = settings_for(prefix)
    with redis_client(prefix) as rds, make_store(kind, folder, city) as st:
        sc = load(city, st[1], settings, gazetteer)
        tokens = accounts(st[1], city, sc, users)
        svc = services(settings, st, city, rds, REDIS_URL)
        yield {"sc": sc, "tokens": tokens, "svc": svc, "app": drill_app(svc), "sessions": st[1], "settings": settings}


def client(world: dict[str, Any], user: str | None) -> Any:
    """A test client signed in as `user` (None: anonymous)."""
    c = world["app"].server.test_client()
    if user:
        c.set_cookie("cc_session", world["tokens"][user])
    return c


def entry(app: Any, name: str) -> tuple[str, dict[str, Any]]:
    """(output key, callback_map entry) of the server callback called `name`."""
    found = [(k, e) for k, e in app.callback_map.items() if e.get("callback") and e["callback"].__name__ == name]
    assert len(found) == 1, name
    return found[0]


def _cid(i: Any) -> str:
    return i if isinstance(i, str) else json.dumps(i, sort_keys=True, separators=(",", ":"))


def call(c: Any, app: Any, name: str, inputs: list[Any], state: list[Any], changed: int = 0) -> dict[str, Any]:
    """POST one callback request; `inputs`/`state` as Dash sends them (a list for a pattern input). Returns the
    response's outputs by component id (empty for 204: nothing updated)."""
    key, e = entry(app, name)
    outs = e["output"] if isinstance(e["output"], list) else [e["output"]]
    outputs = [
        {
            "id": o.component_id,
            "property": o.component_property.split("@")[0] + (key[key.index("@") :] if "@" in key else ""),
        }
        for o in outs
    ]
    first = inputs[changed][0] if isinstance(inputs[changed], list) else inputs[changed]
    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{_cid(first['id'])}.{first['property']}"],
    }
    r = c.post("/_dash-update-component", json=body)
    assert r.status_code in (200, 204), (r.status_code, r.get_data(as_text=True)[:300])
    return {} if r.status_code == 204 else r.get_json()["response"]


def ask_case(c: Any, app: Any, action: str, appeal: str) -> dict[str, Any]:
    """Click an appeal's 督办 or 催办 button."""
    button = {"id": {"type": "case-button", "action": action, "appeal": appeal}, "property": "n_clicks", "value": 1}
    return call(c, app, "ask_case", [[button]], [{"id": "url", "property": "search", "value": "?lang=en"}])


def confirm(c: Any, app: Any, pending: Any) -> dict[str, Any]:
    """Press OK in the confirmation with this pending action (what the browser would send back)."""
    return call(
        c,
        app,
        "do_case",
        [{"id": "case-confirm", "property": "submit_n_clicks", "value": 1}],
        [
            {"id": "case-pending", "property": "data", "value": pending},
            {"id": "case-done", "property": "data", "value": 0},
            {"id": "url", "property": "search", "value": "?lang=en"},
        ],
    )


def ask_ledger(c: Any, app: Any, action: str, case_id: Any, note: str = "") -> dict[str, Any]:
    """Select a ledger row and click answer, close or note."""
    button = {"id": {"type": "ledger-act", "action": action}, "property": "n_clicks", "value": 1}
    return call(
        c,
        app,
        "ask_ledger",
        [[button]],
        [
            {"id": "ledger-grid", "property": "selectedRows", "value": [{"id": case_id}]},
            {"id": "ledger-note", "property": "value", "value": note},
            {"id": "url", "property": "search", "value": "?lang=en"},
        ],
    )


def text_of(resp: dict[str, Any]) -> str:
    """The outputs as one text (to look for words in)."""
    return json.dumps(resp, ensure_ascii=False)

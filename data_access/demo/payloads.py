"""The JSON of the demo's appeal events, spliced from memoised fragments: json.dumps per event would
cost more than all else the backfill does. (Heartbeats' JSON is made in heartbeats.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def frag(fields: dict[str, Any]) -> str:
    """A JSON object's members as a fragment to splice after the common fields (',"k":v,…')."""
    return "," + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))[1:-1] if fields else ""


def quoter() -> Callable[[str], str]:
    """A function giving a text as a JSON string literal, memoised (codes, ids and stock phrases repeat)."""
    memo: dict[str, str] = {}

    def q(text: str) -> str:
        got = memo.get(text)
        if got is None:
            got = memo[text] = json.dumps(text, ensure_ascii=False)
        return got

    return q


def appeal_event(seed: int, aid: str, x: int, typ: str, at: str, fields: str) -> str:
    """The JSON of step x (from 0) of appeal aid: its type, local time `at` and the fragment `fields`."""
    return f'{{"v":1,"id":"demo-{seed}-{aid}-{x + 1}","type":"{typ}","appeal":"{aid}","at":"{at}"{fields}}}'

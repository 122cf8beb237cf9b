"""A wall tick as a browser sends it: the tick callback's request built from the app's own /_dash-dependencies.

Used by benchmarks/load.py (simulated viewers) and the multi-worker test: each viewer keeps its cookies and
the version of the figures it shows (`wall-shown`) and view (`wall-view`), and sends them back next tick, as
the page does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TICK_INPUT = "wall-tick.n_intervals"


def _split_outputs(spec: str) -> list[dict[str, str]]:
    parts = spec[2:-2].split("...") if spec.startswith("..") else [spec]
    out = []
    for p in parts:
        cid, prop = p.rsplit(".", 1)
        out.append({"id": cid, "property": prop.split("@")[0]})
    return out


def tick_spec(dependencies: list[dict[str, Any]]) -> dict[str, Any]:
    """The tick callback's entry of /_dash-dependencies."""
    for dep in dependencies:
        if any(f"{i['id']}.{i['property']}" == TICK_INPUT for i in dep["inputs"]):
            return dep
    raise LookupError("the app has no wall tick callback")


@dataclass
class Viewer:
    """One screen: its URL (path and query), its cookies and the state the browser sends back each tick."""

    path: str
    search: str
    cookies: dict[str, str] = field(default_factory=dict)
    n: int = 0
    shown: Any = None
    view: str | None = None

    def body(self, spec: dict[str, Any]) -> bytes:
        """The JSON body of this viewer's next tick."""
        self.n += 1
        values = {
            "url.pathname": self.path,
            "url.search": self.search,
            "wall-shown.data": self.shown,
            "wall-view.data": self.view,
        }
        state = [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in spec["state"]]
        req = {
            "output": spec["output"],
            "outputs": _split_outputs(spec["output"]),
            "inputs": [{"id": "wall-tick", "property": "n_intervals", "value": self.n}],
            "changedPropIds": [TICK_INPUT],
            "state": state,
        }
        return json.dumps(req).encode()

    def took(self, answer: bytes) -> dict[str, Any]:
        """Keep what the browser would keep from a tick's answer; returns the answer's outputs."""
        resp: dict[str, Any] = json.loads(answer)["response"]
        if "wall-shown" in resp:
            self.shown = resp["wall-shown"]["data"]
        if "wall-view" in resp:
            self.view = resp["wall-view"]["data"]
        return resp

    def cookie_header(self) -> str:
        """The Cookie header of this viewer's requests."""
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

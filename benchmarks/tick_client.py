"""A wall tick as a browser sends it: the POST to the tick route (callbacks/wall.py TICK_URL) that the page's
clientside tick (assets/wall_tick.js) makes, its outputs named from the app's own /_dash-dependencies.

Used by benchmarks/load.py (simulated viewers) and the multi-worker test: each viewer keeps its cookies and
the version of the figures it shows (`wall-shown`) and view (`wall-view`), and sends them back next tick, as
the page does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from callbacks.wall import TICK_URL

TICK_INPUT = "wall-tick.n_intervals"
__all__ = ["TICK_URL", "Viewer", "tick_spec"]


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
        return json.dumps(
            {"pathname": self.path, "search": self.search, "shown": self.shown, "view": self.view}
        ).encode()

    def took(self, answer: bytes, spec: dict[str, Any]) -> dict[str, Any]:
        """Keep what the browser would keep from a tick's answer; returns the changed outputs as
        {component id: {property: value}}."""
        outputs = _split_outputs(spec["output"])
        resp: dict[str, Any] = {}
        for i, value in json.loads(answer)["set"].items():
            o = outputs[int(i)]
            resp.setdefault(o["id"], {})[o["property"]] = value
        if "wall-shown" in resp:
            self.shown = resp["wall-shown"]["data"]
        if "wall-view" in resp:
            self.view = resp["wall-view"]["data"]
        return resp

    def cookie_header(self) -> str:
        """The Cookie header of this viewer's requests."""
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

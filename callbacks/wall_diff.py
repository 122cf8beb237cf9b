"""Send only what changed: each browser reports the version it shows; the server diffs against it.

The server keeps, per version, a fingerprint of every output (and the map's point styles, which
become a `dash.Patch` of `hideout.pts`). Versions are content hashes, shared by every screen that
shows the same thing, and kept in bounded caches: a browser whose version is unknown (new page,
other process, evicted) simply gets everything."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

import orjson
from dash import Patch, no_update
from plotly.io.json import to_json_plotly

from dashboard.ttl_cache import TTLCache

KEEP_S = 3600.0


class Prepared(NamedTuple):
    """A tick's values (the screen's outputs), their fingerprints, the map points' key and the version they make."""

    values: dict[str, Any]
    prints: dict[str, str]
    pkey: str | None
    version: str


def plain_json(obj: Any) -> Any:
    """Components as the JSON Dash sends (orjson calls this for every object it cannot write itself)."""
    to_plotly = getattr(obj, "to_plotly_json", None)
    if to_plotly is None:
        raise TypeError(type(obj).__name__)
    return to_plotly()


def fingerprint(value: Any) -> str:
    """A short hash of an output value (components included).

    orjson with the components' own to_plotly_json: same bytes for the same value, ~2x faster than
    plotly's JSON cleaner (a tick fingerprints every output); anything else falls back to plotly."""
    try:
        raw = orjson.dumps(value, default=plain_json)
    except TypeError:
        raw = to_json_plotly(value).encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _pts_key(pts: dict[str, list[int]]) -> str:
    return hashlib.blake2b(orjson.dumps(pts), digest_size=12).hexdigest()  # same query, same order


class Differ:
    """Turns a tick's full values into what must be sent to a browser showing version `shown`."""

    # Every view, scope cut and language makes a version each tick (its clock): 4,096 versions (~3 KB each) are
    # over a minute of ticks of 49 views. A browser whose version was forgotten gets everything again (the map's
    # points, the tables: ~200–450 KB); with 256 (5 s) a ramp of 300 screens whose ticks took over 5 s got full
    # answers tick after tick, which kept the ticks slow for 15 s (benchmarks/load.py). A point set is larger
    # (up to ~0.8 MB for the whole city) and changes only with the figures: 128 of them.
    def __init__(self, versions: int = 4096, point_sets: int = 128) -> None:
        self._versions = TTLCache(versions)
        self._pts = TTLCache(point_sets)
        # the map points hashed lately, by object: every view of a tick shows one map per scope (one object each)
        self._hashed: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self._hashed_lock = threading.Lock()
        self._printed: OrderedDict[int, tuple[Any, str]] = OrderedDict()  # fingerprints of lately built values

    def diff(self, values: dict[str, Any], shown: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
        """(outputs: value, Patch or no_update per key; the new version to store in the browser)."""
        return self.against(self.prepare(values), shown)

    def prepare(self, values: dict[str, Any]) -> Prepared:
        """A tick's values with their fingerprints and version: the same for every browser shown these values."""
        prints = {k: self._print(v) for k, v in values.items() if k != "pts"}
        pts = values.get("pts")
        pkey = self._pts_hash(pts) if pts is not None else None
        version = hashlib.blake2b(repr((sorted(prints.items()), pkey)).encode(), digest_size=12).hexdigest()
        self._versions.put(version, (prints, pkey))
        return Prepared(values, prints, pkey, version)

    def _print(self, value: Any) -> str:
        """The fingerprint of a value; of a list or dict, once per object (kept: the object itself, so its id is
        not reused): a tick's tables are the objects built for the same figures before (layouts/tick.py)."""
        if not isinstance(value, list | dict) and not hasattr(value, "to_plotly_json"):
            return fingerprint(value)
        with self._hashed_lock:
            held = self._printed.get(id(value))
            if held is not None and held[0] is value:
                self._printed.move_to_end(id(value))
                return held[1]
        fp = fingerprint(value)
        with self._hashed_lock:
            self._printed[id(value)] = (value, fp)
            while len(self._printed) > 2048:
                self._printed.popitem(last=False)
        return fp

    def _pts_hash(self, pts: dict[str, list[int]]) -> str:
        """The key of a map's points, hashed once per object (kept: the object itself, so its id is not reused)."""
        with self._hashed_lock:
            held = self._hashed.get(id(pts))
            if held is not None and held[0] is pts:
                return held[1]
        key = _pts_key(pts)
        self._pts.put(key, pts)
        with self._hashed_lock:
            self._hashed[id(pts)] = (pts, key)
            while len(self._hashed) > 64:
                self._hashed.popitem(last=False)
        return key

    def against(self, prepared: Prepared, shown: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
        """What a browser showing version `shown` must be sent of prepared values."""
        values, prints, pkey, version = prepared
        old = self._versions.peek(shown.get("v")) if isinstance(shown, dict) else None
        old_prints, old_pkey = old if old else ({}, None)
        out: dict[str, Any] = {}
        for k, v in values.items():
            if k == "pts":
                out[k] = self._pts_patch(values.get("pts"), old_pkey, pkey)
            else:
                out[k] = no_update if old_prints.get(k) == prints[k] else v
        return out, {"v": version}

    def _pts_patch(self, pts: dict[str, list[int]] | None, old_key: str | None, key: str | None) -> Any:
        if pts is None or old_key == key:
            return no_update
        old = self._pts.peek(old_key) if old_key else None
        if old is None:
            return {"pts": pts}
        p = Patch()
        for code in old.keys() - pts.keys():
            del p["pts"][code]
        for code, v in pts.items():
            if old.get(code) != v:
                p["pts"][code] = v
        return p

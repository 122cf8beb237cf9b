"""What one tick puts on screen: every live output's value, built from a snapshot (pure, no I/O)."""

from __future__ import annotations

import html as htmlesc
from datetime import datetime
from typing import Any

from dashboard.i18n import ago, duration, t
from dashboard.ttl_cache import ContentMemo
from layouts import panels
from layouts.panels import DASH, num, pct

#: The panels built lately, by their figures: most ticks show tables whose figures did not change (the same object
#: again, which the fingerprints downstream know by identity).
_BUILT = ContentMemo(1024)

FIGURE_SOURCES = {
    "open-total": ("summary", "open"),
    "open-green": ("summary", "green"),
    "open-yellow": ("summary", "yellow"),
    "open-red": ("summary", "red"),
    "turning-red": ("summary", "turning_red"),
    "today-volume": ("summary", "today"),
    "red-uncovered": ("summary", "red_uncovered"),
    "cases-open": ("summary", "cases_open"),
    "members-online": ("members", "online"),
    "members-busy": ("members", "busy"),
    "members-offline": ("members", "offline"),
    "members-sos": ("members", "sos"),
    "rank-advanced": ("rankings", "classes", "advanced"),
    "rank-improving": ("rankings", "classes", "improving"),
    "rank-rectification": ("rankings", "classes", "rectification"),
    "rank-governance": ("rankings", "classes", "governance"),
}


def _dig(d: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        if d is None:
            return None
        d = d.get(k)
    return d


def banner(status: dict[str, Any], zone: Any, lang: str) -> tuple[list[str], str]:
    """(messages, className) of the banner: empty when all is well."""
    hhmm = lambda iso: datetime.fromisoformat(iso).astimezone(zone).strftime("%H:%M:%S") if iso else "—"  # noqa: E731
    msgs, severe = [], False
    if not status["store"]:
        severe = True
        msgs.append(
            t(lang, "store_down", at=hhmm(status["data_time"])) if status["data_time"] else t(lang, "store_down_never")
        )
    if not status["redis"]:
        severe = True
        msgs.append(t(lang, "redis_down"))
    if status["store"] and status["stale"]:
        if status["last_event"]:
            severe = True
            msgs.append(t(lang, "feed_stale", since=hhmm(status["last_event"])))
        else:
            msgs.append(t(lang, "feed_never"))
    if status.get("history_load") is not None:
        msgs.append(t(lang, "history_loading", pct=int(100 * status["history_load"])))
    cls = "wall-banner" + ((" on" + ("" if severe else " warn")) if msgs else "")
    return [" · ".join(msgs)] if msgs else [], cls


def ranking_notes(rk: dict[str, Any], zone: Any, lang: str) -> list[str]:
    """What the ranking panel says of its figures: provisional until the month's cut-off, behind since when."""
    when = lambda iso: datetime.fromisoformat(iso).astimezone(zone).strftime("%m-%d %H:%M")  # noqa: E731
    notes = []
    if rk.get("provisional_until"):
        notes.append(t(lang, "rank_provisional", until=when(rk["provisional_until"])))
    if rk.get("stale"):
        notes.append(t(lang, "rank_stale", since=when(rk["stale_since"])))
    return notes


def red_points(rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """The red appeals as map points; tooltip and popup text escaped here (Leaflet renders them as HTML)."""
    feats = []
    for r in rows:
        if not r.get("lonlat"):
            continue
        e = lambda v: htmlesc.escape(str(v or ""))  # noqa: E731
        summary = r.get("summary") or ""
        late = duration(lang, r["late_s"])
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(r["lonlat"][0], 5), round(r["lonlat"][1], 5)]},
                "properties": {
                    "id": r["id"],
                    "tooltip": f"{e(r['place'])} · {e(r['category'])} · {e(late)}<br>{e(summary[:60])}",
                    "popup": (
                        f"<b>{e(r['id'])}</b><br>{e(r['unit_name'] or t(lang, 'unassigned'))} · {e(r['place'])}"
                        f"<br>{e(' / '.join(r['categories']))} · {e(t(lang, 'col_late'))} {e(late)}"
                        f'<br><span class="summary">{e(summary)}</span>'
                    ),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def render(result: dict[str, Any], zone: Any, lang: str) -> dict[str, Any]:
    """Every live output's value for one take_snapshot() result; keys name the outputs.

    Figures not computed yet say so ("计算中…") rather than show a 0 or an empty list: the coverage (and its
    lowest streets) before any member's heartbeat was read; while a load of the city's history is under way (the
    demo's first start), "no hotspot" (the last hours are compared with a past not yet in); the hotspots found
    meanwhile are shown, under the banner that says the history is loading."""
    status, snap = result["status"], result["data"]
    now = datetime.fromisoformat(status["time"])
    out: dict[str, Any] = {"fig:clock": now.astimezone(zone).strftime("%H:%M:%S")}
    msgs, cls = banner(status, zone, lang)
    out["banner"], out["banner-class"] = msgs, cls
    out["body-class"] = "wall-body" if status["fresh"] else "wall-body stale"
    if snap is None:
        for name in FIGURE_SOURCES:
            out[f"fig:{name}"] = DASH
        out["fig:coverage"], out["fig:freshness"] = DASH, t(lang, "no_data")
        return out
    for name, path in FIGURE_SOURCES.items():
        out[f"fig:{name}"] = num(_dig(snap, path))
    m, rk = snap["members"], snap["rankings"]
    covered = m["coverage_known"]
    out["fig:coverage"] = pct(m["coverage"]) if covered else t(lang, "computing")
    last = snap["last_event"]
    out["fig:freshness"] = (
        t(lang, "no_data") if last is None else ago(lang, (now - datetime.fromisoformat(last)).total_seconds())
    )
    alerts, notes = snap["alerts"], ranking_notes(rk, zone, lang)
    out["list:red-list"] = _BUILT.get(("red", lang), alerts["red"], lambda: panels.red_table(alerts["red"], lang))
    out["list:soon-list"] = _BUILT.get(("soon", lang), alerts["soon"], lambda: panels.soon_table(alerts["soon"], lang))
    computing = lambda: _BUILT.get(("computing", lang), None, lambda: panels.computing(lang))  # noqa: E731
    out["list:hotspot-list"] = (
        computing()
        if status.get("history_load") is not None and not snap["hotspots"]
        else _BUILT.get(("hotspots", lang), snap["hotspots"], lambda: panels.hotspot_list(snap["hotspots"], lang))
    )
    out["list:coverage-list"] = (
        _BUILT.get(("coverage", lang), m["streets"], lambda: panels.coverage_list(m["streets"], lang))
        if covered
        else computing()
    )
    out["list:ranking-table"] = _BUILT.get(
        ("ranking", lang), [rk["rows"], notes], lambda: panels.ranking_table(rk["rows"], lang, notes=notes)
    )
    out["list:volume-top"] = _BUILT.get(
        ("volume", lang), rk["volume_top"], lambda: panels.volume_top(rk["volume_top"], lang)
    )
    out["list:sos-alert"] = _BUILT.get(("sos", lang), m["sos_list"], lambda: panels.sos_alert(m["sos_list"], lang))
    out["sos-class"] = "sos-alert on" if m["sos_list"] else "sos-alert"
    out["red-layer"] = _BUILT.get(("red-layer", lang), alerts["red"], lambda: red_points(alerts["red"], lang))
    out["pts"] = snap["communities"]
    return out

"""Citizen text in same-event screens stays text: escaped in map tooltips (Leaflet renders HTML), plain in tables."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from dash import html

from layouts.events import event_rows, group_points, same_event

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>&amp;'
ZONE = ZoneInfo("Asia/Shanghai")


def test_group_marker_tooltips_are_escaped() -> None:
    layer = group_points(
        [
            {
                "id": "A1",
                "cat_key": "<b>路灯</b>",
                "size": 4,
                "lon": 116.4,
                "lat": 39.9,
                "burst_day": date(2026, 11, 3),
                "summary": XSS,
            }
        ],
        "zh",
    )
    (feature,) = layer["features"]
    tip = feature["properties"]["tooltip"]
    assert "<img" not in tip and "<script" not in tip and "<b>" not in tip
    assert "&lt;img" in tip and "&amp;amp;" in tip
    assert feature["properties"]["count"] == 4 and feature["properties"]["burst"] is True


def test_the_appeal_page_group_shows_words_as_text() -> None:
    group = {
        "size": 2,
        "three_in_three_days": None,
        "members": [
            {"id": "A1", "created_at": "2026-11-20T09:00:00+08:00", "status": "created", "summary": XSS},
            {"id": "A2", "created_at": "2026-11-20T10:00:00+08:00", "status": "created", "summary": "路灯不亮"},
        ],
    }
    panel = same_event(group, "A2", "en", ZONE)
    text = json.dumps(panel.to_plotly_json(), default=lambda o: o.to_plotly_json(), ensure_ascii=False)
    assert "One of 2 appeals about this event" in text
    assert XSS.replace('"', '\\"') in text  # a string child: React renders it as text, never as markup
    cells = [c for c in _walk(panel) if isinstance(c, html.Td)]
    assert any(c.children == XSS for c in cells)


def test_event_rows_are_plain_values() -> None:
    rows = event_rows(
        [
            {
                "id": "A1",
                "three_in_three_days": "2026-11-03",
                "category": "路灯",
                "size": 3,
                "first_at": "2026-11-01T09:00:00+08:00",
                "last_at": "2026-11-03T09:00:00+08:00",
                "summary": XSS,
            }
        ],
        {"A1": "东城区 · 某街道"},
        ZONE,
    )
    assert rows == [
        {
            "day": "2026-11-03",
            "cat": "路灯",
            "size": 3,
            "first": "11-01 09:00",
            "last": "11-03 09:00",
            "place": "东城区 · 某街道",
            "words": XSS,
            "id": "A1",
        }
    ]


def _walk(c: object) -> list[object]:
    out = [c]
    kids = getattr(c, "children", None)
    for k in kids if isinstance(kids, list) else [kids] if kids is not None else []:
        out += _walk(k)
    return out

"""Exports of the test histories (tests/histories.py) as an old hotline system would write them, in two layouts
with the mappings of docs/import/: the same appeals as rows, and as the live events the import derives from them."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dashboard.history_mapping import TAGS
from dashboard.history_rows import event_id

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = {"cn": ROOT / "docs/import/hotline-cn.toml", "en": ROOT / "docs/import/hotline-en.toml"}
BEIJING = timezone(timedelta(hours=8))

#: Column of each (stage, slot, field) in each layout; created's fields under ("created", 1, field).
_CN = {
    ("created", 1, "appeal"): "工单编号",
    ("created", 1, "at"): "受理时间",
    ("created", 1, "channel"): "来源渠道",
    ("created", 1, "kind"): "诉求类型",
    ("created", 1, "priority"): "紧急程度",
    ("created", 1, "community"): "社区编码",
    ("created", 1, "lon"): "经度",
    ("created", 1, "lat"): "纬度",
    ("created", 1, "address"): "地址",
    ("created", 1, "summary"): "诉求内容",
    ("dispatched", 1, "at"): "派单时间1",
    ("dispatched", 1, "unit"): "派单单位1",
    ("dispatched", 2, "at"): "派单时间2",
    ("dispatched", 2, "unit"): "派单单位2",
    ("returned", 1, "at"): "退单时间",
    ("returned", 1, "reason"): "退单原因",
    ("accepted", 1, "at"): "签收时间",
    ("accepted", 1, "member"): "签收人",
    ("extended", 1, "at"): "延期时间",
    ("extended", 1, "due_at"): "延期至",
    ("extended", 1, "reason"): "延期原因",
    ("resolved", 1, "at"): "办结时间",
    ("resolved", 1, "note"): "办结说明",
    ("reviewed", 1, "at"): "回访时间",
    ("reviewed", 1, "responded"): "是否联系",
    ("reviewed", 1, "resolved"): "是否解决",
    ("reviewed", 1, "satisfaction"): "满意度",
    ("reopened", 1, "at"): "重办时间",
    ("reopened", 1, "reason"): "重办原因",
    ("resolved", 2, "at"): "二次办结时间",
    ("reviewed", 2, "at"): "二次回访时间",
    ("reviewed", 2, "responded"): "二次是否联系",
    ("reviewed", 2, "resolved"): "二次是否解决",
    ("reviewed", 2, "satisfaction"): "二次满意度",
    ("closed", 1, "at"): "结案时间",
}
_EN = {
    ("created", 1, "appeal"): "order_id",
    ("created", 1, "at"): "opened",
    ("created", 1, "channel"): "source",
    ("created", 1, "kind"): "type",
    ("created", 1, "priority"): "urgency",
    ("created", 1, "community"): "community_code",
    ("created", 1, "lon"): "x",
    ("created", 1, "lat"): "y",
    ("created", 1, "summary"): "text",
    ("dispatched", 1, "at"): "dispatch_1_time",
    ("dispatched", 1, "unit"): "dispatch_1_unit",
    ("dispatched", 2, "at"): "dispatch_2_time",
    ("dispatched", 2, "unit"): "dispatch_2_unit",
    ("returned", 1, "at"): "return_time",
    ("returned", 1, "unit"): "return_unit",
    ("returned", 1, "reason"): "return_reason",
    ("accepted", 1, "at"): "signed_time",
    ("accepted", 1, "unit"): "signed_unit",
    ("accepted", 1, "member"): "signed_by",
    ("extended", 1, "at"): "extension_time",
    ("extended", 1, "due_at"): "extended_to",
    ("extended", 1, "reason"): "extension_reason",
    ("resolved", 1, "at"): "done_time",
    ("resolved", 1, "note"): "done_note",
    ("reviewed", 1, "at"): "callback_time",
    ("reviewed", 1, "responded"): "callback_reached",
    ("reviewed", 1, "resolved"): "callback_solved",
    ("reviewed", 1, "satisfaction"): "callback_rating",
    ("reopened", 1, "at"): "reopen_time",
    ("reopened", 1, "reason"): "reopen_reason",
    ("resolved", 2, "at"): "done_2_time",
    ("reviewed", 2, "at"): "callback_2_time",
    ("reviewed", 2, "responded"): "callback_2_reached",
    ("reviewed", 2, "resolved"): "callback_2_solved",
    ("reviewed", 2, "satisfaction"): "callback_2_rating",
    ("closed", 1, "at"): "closed_time",
}
LAYOUTS = {"cn": _CN, "en": _EN}
_LABELS: dict[str, dict[str, dict[Any, str]]] = {
    "cn": {
        "channel": {"phone": "电话", "web": "网站", "wechat": "微信"},
        "kind": {"complaint": "投诉"},
        "priority": {"urgent": "加急", "normal": "一般", "routine": "普通"},
        "bool": {True: "是", False: "否"},
        "satisfaction": {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"},
    },
    "en": {
        "channel": {"phone": "TEL", "web": "WEB", "wechat": "WX"},
        "kind": {"complaint": "C"},
        "priority": {"urgent": "U", "normal": "N", "routine": "R"},
        "bool": {True: "Y", False: "N"},
        "satisfaction": {"satisfied": "S", "basically_satisfied": "B", "dissatisfied": "D"},
    },
}


def _time(text: str, layout: str) -> str:
    t = datetime.fromisoformat(text)
    if layout == "cn":
        return t.astimezone(BEIJING).strftime("%Y/%m/%d %H:%M")
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export(hist: dict[str, list[str]], layout: str) -> tuple[list[dict[str, str]], list[str]]:
    """The histories as rows of an export in `layout` (cn or en), and as the live events the import makes of them
    (the same events with the ids the import derives)."""
    cols = LAYOUTS[layout]
    labels = _LABELS[layout]
    rows: list[dict[str, str]] = []
    live: list[str] = []
    for appeal, texts in hist.items():
        row = dict.fromkeys(cols.values(), "")
        slot: dict[str, int] = {}
        for text in texts:
            e = json.loads(text)
            kind = e["type"]
            k = slot[kind] = slot.get(kind, 0) + 1
            e["id"] = event_id(appeal, TAGS[kind] + ("" if kind == "created" else str(k)))
            live.append(json.dumps(e, ensure_ascii=False))

            def put(field: str, value: str, kind: str = kind, k: int = k, row: dict[str, str] = row) -> None:
                row[cols[(kind, k, field)]] = value

            put("at", _time(e["at"], layout))
            if kind == "created":
                put("appeal", appeal)
                put("channel", labels["channel"][e["channel"]])
                put("kind", labels["kind"][e["kind"]])
                put("priority", labels["priority"][e["priority"]])
                put("summary", e["summary"])
                if "community" in e:
                    put("community", e["community"])
                if "location" in e:
                    put("lon", repr(e["location"]["lon"]))
                    put("lat", repr(e["location"]["lat"]))
                cat = e["category"]
                if layout == "cn":
                    row.update({"一级分类": cat[0], "二级分类": cat[1], "三级分类": cat[2]})
                else:
                    row["category_path"] = "/".join(cat)
            elif (kind, k, "unit") in cols:
                put("unit", e["unit"])
            if kind == "accepted" and e.get("member"):
                put("member", e["member"])
            if kind == "extended":
                put("due_at", _time(e["due_at"], layout))
            for f in ("reason", "note"):
                if e.get(f) and (kind, k, f) in cols:
                    put(f, e[f])
            if kind == "reviewed":
                put("responded", labels["bool"][e["responded"]])
                put("resolved", labels["bool"][e["resolved"]])
                put("satisfaction", labels["satisfaction"][e["satisfaction"]])
        rows.append(row)
    return rows, live


def header(layout: str) -> list[str]:
    """The columns of an export in `layout`."""
    extra = ["一级分类", "二级分类", "三级分类"] if layout == "cn" else ["category_path"]
    return list(dict.fromkeys(LAYOUTS[layout].values())) + extra


def write_csv(path: Path, rows: list[dict[str, str]], layout: str) -> Path:
    """Rows as a CSV export (UTF-8 with BOM, as spreadsheets write it)."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header(layout))
        w.writeheader()
        w.writerows(rows)
    return path

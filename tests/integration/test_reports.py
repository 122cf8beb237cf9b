"""Reports on real SQLite and PostgreSQL: their numbers, read back from the PDF and the XLSX, equal the read API's;
made once across processes and restarts; missed runs caught up; refusals; citizen HTML stays text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from dashboard.reports import parse_period
from dashboard.wall import View
from data_access.reports import archive
from data_access.reports.build import make
from tests.reports_support import client, pdf_text, report_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, city, gazetteer, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with report_world(request.param, city, gazetteer, tmp_path_factory.mktemp("reports")) as w:
        yield w


def _made(world: dict[str, Any], kind: str, period: str, scope: str) -> Any:
    now = datetime.now(UTC)
    got = make(world["sessions"], world["ctx"], parse_period(kind, period), View.parse(scope), now)
    assert got.state in ("made", "skipped"), got
    with world["sessions"]() as s:
        row = archive.find(s, kind, period, scope)
        assert row is not None and row.state == "made", row and row.reason
        s.expunge(row)
        return row


def test_monthly_ranking_equals_the_api_in_pdf_and_xlsx(world) -> None:  # type: ignore[no-untyped-def]
    row = _made(world, "monthly", "2026-10", "city")
    api = client(world, "admin").get("/api/v1/rankings?level=street&month=2026-10").get_json()["rankings"]
    ranked = [r for r in api["rows"] if r["rank"] is not None]
    assert len(ranked) >= 5, "the history ranks too few streets to compare"
    wb = load_workbook(io.BytesIO(row.xlsx))
    sheet = wb["街乡镇排名"]
    head = [c.value for c in sheet[1]]
    got = {r[head.index("名称")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    text = pdf_text(row.pdf)
    for r in api["rows"]:
        x = got[r["name"]]
        assert x[head.index("排名")] == r["rank"]
        assert x[head.index("诉求量")] == r["volume"]
        assert x[head.index("回访数")] == r["reviewed"]
        assert x[head.index("综合得分")] == r["composite"]
        assert x[head.index("满意率")] == r["satisfaction"]
        if r["rank"] is not None:
            line = next(ln for ln in text.splitlines() if r["name"] in ln and ln.strip().startswith(str(r["rank"])))
            assert f"{r['composite']:.2f}" in line and f" {r['volume']} " in f" {line} ", line
            assert f"{100 * r['resolution']:.1f}%" in line, line

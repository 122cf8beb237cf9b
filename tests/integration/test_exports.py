"""Exports: every drill-down table as CSV (UTF-8 with BOM) and XLSX, within the scope, formulas defused."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from dashboard.drill import EXPORT_TABLES
from tests.drill_support import drill_world
from tests.wall_support import XSS


@pytest.fixture(scope="module")
def client(city, gazetteer, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A street leader's client of one store for the module: exports only read."""
    with drill_world(city, gazetteer, tmp_path_factory.mktemp("exports"), ("street",)) as w:
        c = w["app"].server.test_client()
        c.set_cookie("cc_session", w["tokens"]["street"])
        yield c, w["sc"]


def test_every_table_downloads(client) -> None:  # type: ignore[no-untyped-def]
    c, sc = client
    for table in EXPORT_TABLES:
        area = "/area/a/XSS1" if table == "timeline" else f"/area/s/{sc['street']}"
        r = c.get(f"/export/{table}.csv?area={area}&lang=en")
        assert r.status_code == 200, table
        assert r.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
        assert "attachment" in r.headers["Content-Disposition"]
        x = c.get(f"/export/{table}.xlsx?area={area}")
        assert x.status_code == 200
        rows = list(load_workbook(io.BytesIO(x.data)).active.iter_rows(values_only=True))
        assert len(rows) >= 2, table
        assert len(r.data.decode("utf-8-sig").strip().splitlines()) >= len(rows) or table == "timeline"


def test_exports_follow_filters_and_keep_text(client) -> None:  # type: ignore[no-untyped-def]
    c, sc = client
    text = c.get(f"/export/appeals.csv?area=/area/s/{sc['street']}&light=red").data.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) - 1 == 3 and "诉求内容" in lines[0]
    assert '<img src=x onerror=""window.__xss=1"">' in text  # citizen text as text, CSV-quoted


def test_formula_cells_defused(client, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    from callbacks.exports import safe_cell, to_csv

    assert safe_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")' and safe_cell("+1") == "'+1" and safe_cell(3) == 3
    assert to_csv(["a"], [["@SUM(A1)"]]).decode("utf-8-sig").splitlines()[1] == "'@SUM(A1)"


def test_bad_requests(client) -> None:  # type: ignore[no-untyped-def]
    c, sc = client
    assert c.get("/export/nope.csv?area=/area").status_code == 404
    assert c.get(f"/export/red.pdf?area=/area/s/{sc['street']}").status_code == 404
    assert c.get("/export/red.csv").status_code == 400
    assert c.get(f"/export/red.csv?area=/area/s/{sc['street']}&light=blue").status_code == 400
    assert c.get("/export/red.csv?area=/area/a/XSS1").status_code == 400  # appeals have a timeline only
    assert XSS  # (the payload lives in the store; see test_exports_follow_filters_and_keep_text)

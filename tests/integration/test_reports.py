"""Reports on real SQLite and PostgreSQL: their numbers, read back from the PDF and the XLSX, equal the read API's;
made once across processes and restarts; missed runs caught up; refusals; citizen HTML stays text."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import pytest
from openpyxl import load_workbook

from dashboard.drill import Area
from dashboard.reports import parse_period
from dashboard.wall import View
from data_access.reports import archive
from data_access.reports.build import make
from data_access.reports.pdf import html as html_of
from data_access.wall.snapshot import WallContext
from tests.conftest import ROOT, TZ
from tests.drill_support import refusals
from tests.reports_support import DAY, client, pdf_text, report_world
from tests.wall_support import XSS


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


def _created_on(texts: list[str], day: str) -> dict[str, int]:
    """Appeals created on a local day, per channel, counted from the events themselves (not by SQL)."""
    out: dict[str, int] = {}
    for text in texts:
        e = json.loads(text)
        if e["type"] == "created" and e["at"][:10] == day:
            out[e["channel"]] = out.get(e["channel"], 0) + 1
    return out


def test_daily_numbers_in_xlsx_and_pdf_equal_the_events(world) -> None:  # type: ignore[no-untyped-def]
    row = _made(world, "daily", DAY, "city")
    want = _created_on(world["texts"], DAY)
    wb = load_workbook(io.BytesIO(row.xlsx))
    sheet = wb["按渠道"]
    got = {r[0]: r[1] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert got == want and all(isinstance(v, int) for v in got.values())
    cover = {r[0]: r[1] for r in wb["概要"].iter_rows(values_only=True) if r and r[0]}
    assert cover["受理总量"] == sum(want.values())
    assert isinstance(cover["数据截至"], datetime) and cover["数据截至"] == datetime(2026, 10, 16)
    text = pdf_text(row.pdf)
    assert f"受理总量: {sum(want.values())}" in text.replace("：", ":")
    # the scope and the cut-off head every page; every page is numbered
    pages = text.split("\f") if "\f" in text else None
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(row.pdf))
    for i, page in enumerate(reader.pages, start=1):
        t = page.extract_text()
        assert "北京市" in t and "2026-10-16 00:00" in t and f"{i} / {len(reader.pages)}" in t, (i, t[:200])
    assert pages is None or len(pages) >= 1


def test_citizen_html_stays_text(world) -> None:  # type: ignore[no-untyped-def]
    row = _made(world, "daily", DAY, "city")
    report = archive.from_json(row.content)
    summaries = [r["summary"] for r in report.table("rp_overdue_rows").rows]
    assert XSS in summaries
    doc = html_of(report)
    assert XSS not in doc and escape(XSS) in doc
    assert "<script>" in pdf_text(row.pdf)  # printed as the characters the citizen wrote
    page = client(world, "admin").post("/_dash-update-component", json=_route_body(f"?id={row.id}"))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "dangerously" not in body
    assert XSS in _texts(json.loads(body))  # a text child of a table cell, which React renders as text


def _texts(v: Any) -> list[str]:
    """Every string in a callback's answer."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [x for k in v.values() for x in _texts(k)]
    if isinstance(v, list):
        return [x for k in v for x in _texts(k)]
    return []


def _route_body(search: str) -> dict[str, Any]:
    return {
        "output": "page.children",
        "outputs": {"id": "page", "property": "children"},
        "inputs": [
            {"id": "url", "property": "pathname", "value": "/reports"},
            {"id": "url", "property": "search", "value": search},
        ],
        "changedPropIds": ["url.pathname"],
    }


def test_scheduled_run_once_across_two_processes_and_a_restart(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if world["kind"] == "sqlite":
        pytest.skip("two processes on one store: PostgreSQL here; SQLite's single writer is covered by the restart")
    now = "2026-10-21T08:30:00+08:00"  # the 20th's bulletin is due (08:00): one report
    url = world["svc"].url
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from tests.reports_support import schedule_once; schedule_once({url!r}, {now!r}, 'p{i}')",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
    said = sorted(line.split()[-1] for o, _ in outs for line in o.splitlines() if "2026-10-20" in line)
    assert said == ["made", "skipped"], outs
    with world["sessions"]() as s:
        row = archive.find(s, "daily", "2026-10-20", "city")
        assert row is not None and row.state == "made" and row.attempts == 1
        made_at = row.made_at
    # a restart: a new schedule (fresh caches, another worker) runs the same pass and makes nothing
    from data_access.reports.scheduler import run_due

    s = world["settings"].model_copy(update={"report_kinds": "daily", "report_catch_up_days": 1})
    again = run_due(world["sessions"], WallContext(s, world["ctx"].refs), datetime.fromisoformat(now), "p3")
    assert [(p, o.state) for _, p, _, o in again] == [("2026-10-20", "skipped")]
    with world["sessions"]() as db:
        row = archive.find(db, "daily", "2026-10-20", "city")
        assert row is not None and row.attempts == 1 and row.made_at == made_at


def test_missed_runs_are_caught_up_and_a_failed_build_is_retried(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from data_access.reports import fonts
    from data_access.reports.scheduler import run_due

    s = world["settings"].model_copy(update={"report_kinds": "daily", "report_catch_up_days": 3})
    ctx = WallContext(s, world["ctx"].refs)
    # down from the 24th 07:00 to the 27th 09:00: the 24th's, 25th's and 26th's bulletins fell due meanwhile
    back = datetime(2026, 10, 27, 9, 0, tzinfo=TZ)
    monkeypatch.setattr(fonts, "CANDIDATES", (fonts.CANDIDATES[0].with_name("gone.ttc"),))  # the font is missing
    first = run_due(world["sessions"], ctx, back, "w1")
    assert [(p, o.state) for _, p, _, o in first] == [(f"2026-10-{d}", "failed") for d in (24, 25, 26)]
    assert all("fonts-noto-cjk" in (o.reason or "") for *_, o in first)
    monkeypatch.undo()
    assert all(
        o.state == "skipped" for *_, o in run_due(world["sessions"], ctx, back, "w1")
    )  # not before REPORT_RETRY_S
    later = back + timedelta(seconds=s.report_retry_s + 1)
    again = run_due(world["sessions"], ctx, later, "w2")
    assert [(p, o.state) for _, p, _, o in again] == [(f"2026-10-{d}", "made") for d in (24, 25, 26)]
    with world["sessions"]() as db:
        for d in (24, 25, 26):
            row = archive.find(db, "daily", f"2026-10-{d}", "city")
            assert row is not None and row.state == "made" and row.attempts == 2 and row.reason is None


def _make_body(kind: str, period: str, scope: str) -> dict[str, Any]:
    return {
        "output": "..reports-status.children...reports-asked.data...reports-watch.disabled..",
        "outputs": [
            {"id": "reports-status", "property": "children"},
            {"id": "reports-asked", "property": "data"},
            {"id": "reports-watch", "property": "disabled"},
        ],
        "inputs": [{"id": "reports-make", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "reports-kind", "property": "value", "value": kind},
            {"id": "reports-period", "property": "value", "value": period},
            {"id": "reports-scope", "property": "value", "value": scope},
            {"id": "url", "property": "search", "value": "?lang=en"},
        ],
        "changedPropIds": ["reports-make.n_clicks"],
    }


@pytest.mark.parametrize(
    "user,kind,period,scope,says",
    [
        ("admin", "daily", "2099-01-01", "city", "has not ended"),
        ("admin", "monthly", "2026-1", "city", "write YYYY-MM"),
        ("admin", "daily", "2026-10-15", "d:999999", "unknown scope"),
        ("admin", "daily", "2026-10-15", "<b>x</b>", "write city"),
        ("dist", "daily", "2026-10-15", "city", "outside yours"),
        ("street", "daily", "2026-10-15", "OTHER", "outside yours"),
    ],
)
def test_bad_requests_get_a_clear_refusal(world, user: str, kind: str, period: str, scope: str, says: str) -> None:  # type: ignore[no-untyped-def]
    if scope == "OTHER":
        scope = f"d:{world['where']['district']}"
    r = client(world, user).post("/_dash-update-component", json=_make_body(kind, period, scope))
    body = r.get_json()["response"]
    assert r.status_code == 200 and says in json.dumps(body, ensure_ascii=False), body
    assert body["reports-asked"]["data"] is None and body["reports-watch"]["disabled"] is True


def test_forged_download_of_another_scope_gets_nothing(world) -> None:  # type: ignore[no-untyped-def]
    d = world["where"]["district"]
    own = _made(world, "daily", DAY, f"d:{d}")
    city_row = _made(world, "daily", DAY, "city")
    c = client(world, "dist")
    r = c.get(f"/reports/file/{own.id}.pdf")
    assert r.status_code == 200 and r.data[:5] == b"%PDF-"
    assert c.get(f"/reports/file/{own.id}.xlsx").status_code == 200
    other = client(world, "other")
    for url in (f"/reports/file/{own.id}.pdf", f"/reports/file/{own.id}.xlsx", f"/reports/file/{city_row.id}.pdf"):
        before = refusals(world["sessions"])
        r = other.get(url)
        assert r.status_code == 404 and b"%PDF" not in r.data and b"PK" not in r.data[:2], url
        assert refusals(world["sessions"]) == before + 1, url
    page = _texts(other.post("/_dash-update-component", json=_route_body(f"?id={own.id}")).get_json())
    name = world["svc"].city.districts.set_index("code").loc[d, "name"]
    assert not any(name in x for x in page) and "没有这份报告" in page

    def files(user: str) -> set[str]:
        answer = client(world, user).post("/_dash-update-component", json=_route_body("")).get_json()
        return {x for x in _texts(answer) if x.startswith("/reports/file/")}

    assert f"/reports/file/{own.id}.pdf" in files("dist") and f"/reports/file/{city_row.id}.pdf" not in files("dist")
    assert not files("other") & {f"/reports/file/{own.id}.pdf", f"/reports/file/{city_row.id}.pdf"}
    assert {f"/reports/file/{own.id}.pdf", f"/reports/file/{city_row.id}.pdf"} <= files("admin")
    assert client(world, None).get(f"/reports/file/{own.id}.pdf").status_code in (302, 401)


def test_a_made_report_is_mailed_once_with_its_pdf(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the outbox and the sender to a real SMTP server (aiosmtpd); the robot gets the link only."""
    from data_access.notify.sender import Sender
    from data_access.reports.delivery import deliverer, load_subscribers
    from tests.notify_support import https_receiver, smtp_server

    d = world["where"]["district"]
    csv_file = tmp_path / "subscribers.csv"
    csv_file.write_text(
        "scope,kinds,name,role,email,phone,wecom,dingtalk,feishu,language\n"
        f"d:{d},daily|weekly,王主任,district_director,wang@example.invalid,,13800000001,,,zh\n"
        f"city,monthly,李,city_director,li@example.invalid,,,,,zh\n",
        encoding="utf-8",
    )
    subs = load_subscribers(csv_file)
    with https_receiver(tmp_path) as (rx, ca), smtp_server() as (box, port):
        s = world["settings"].model_copy(
            update={
                "var_dir": tmp_path,
                "public_url": "https://cc.example.invalid",
                "notify_smtp_host": "127.0.0.1",
                "notify_smtp_port": port,
                "notify_smtp_from": "cc@example.invalid",
                "notify_smtp_starttls": False,
                "notify_wecom_url": f"{rx.url}/wecom?key=k",
                "notify_ca_file": ca,
            }
        )
        ctx = WallContext(s, world["ctx"].refs)
        p, view, now = parse_period("daily", "2026-10-12"), View("district", d), datetime.now(UTC)
        assert make(world["sessions"], ctx, p, view, now, deliver=deliverer(subs)).state == "made"
        assert make(world["sessions"], ctx, p, view, now, deliver=deliverer(subs)).state == "skipped"  # once
        sender = Sender(s, world["svc"].engine)
        try:
            while sender.step():
                pass
        finally:
            sender.close()
    (mail,) = box.messages
    assert "wang@example.invalid" in str(mail["To"]) and "日通报" in str(mail["Subject"])
    (att,) = list(mail.iter_attachments())  # type: ignore[attr-defined]  # parsed with policy=default: an EmailMessage
    assert att.get_content_type() == "application/pdf"
    text = pdf_text(bytes(att.get_payload(decode=True)))
    with world["sessions"]() as db:
        row = archive.find(db, "daily", "2026-10-12", f"d:{d}")
        assert row is not None and row.pdf is not None and pdf_text(row.pdf) == text
    (robot,) = rx.of("/wecom")
    assert f"/reports?id={row.id}" in json.dumps(robot.body) and "%PDF" not in json.dumps(robot.body)


def test_a_report_process_reads_the_city_index_from_the_store_without_boundaries(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`python app.py report` never loads the city model (its boundaries are ~170 MB of a process of its own): the
    index it reads from the store's reference tables has every lookup of the city model's, equal and in the same
    order; a map lookup says why it cannot answer; a store holding no city yet has no index to read."""
    from data_access.intake.reference_data import stored_index
    from data_access.store.engine import make_engine, make_sessionmaker, migrate
    from geo.city_index import NoBoundaries

    full = world["ctx"].refs
    with world["sessions"]() as s:
        stored = stored_index(s)
    assert stored is not None and stored.city_name == full.city_name
    maps = {"box", "_layers", "_lock", "_points"}
    for key, value in vars(full).items():
        if key not in maps:
            got = getattr(stored, key)
            assert got == value, key
            if isinstance(value, dict):
                assert list(got) == list(value), key
    assert stored.member and stored.roster["city"] == len(stored.member)
    with pytest.raises(NoBoundaries):
        stored.area_bounds(View.parse("city"))
    with pytest.raises(NoBoundaries):
        stored.sub_layer(Area(), ["110105"])
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        migrate(empty)
        with make_sessionmaker(empty)() as s:
            assert stored_index(s) is None
    finally:
        empty.dispose()


def test_command_line_writes_the_files_and_refuses_a_future_period(world, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from data_access.reports import cli

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="cmd"))
    settings = world["settings"].model_copy(update={"database_url": world["svc"].url})
    args = parser.parse_args(["report", "daily", "--period", DAY, "--scope", "city", "--out", str(tmp_path)])
    assert cli.main(args, settings) == 0  # as `python app.py report`: the city's index read from the store
    assert pdf_text((tmp_path / f"daily-{DAY}-city.pdf").read_bytes()) == pdf_text(
        _made(world, "daily", DAY, "city").pdf
    )
    assert load_workbook(tmp_path / f"daily-{DAY}-city.xlsx")["按渠道"].max_row > 1
    future = parser.parse_args(["report", "monthly", "--period", "2099-01", "--out", str(tmp_path)])
    assert cli.main(future, settings) == 2 and "has not ended" in capsys.readouterr().out
    unknown = parser.parse_args(["report", "daily", "--period", DAY, "--scope", "s:000", "--out", str(tmp_path)])
    assert cli.main(unknown, settings) == 2 and "unknown scope" in capsys.readouterr().out


def test_a_report_asked_for_goes_to_subscribers_only_if_the_schedule_makes_it(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A report asked for takes the schedule's place in the archive (made once), so when the schedule makes that
    period for that scope its subscribers get it, once, through real receivers; an older period asked for (past
    the catch-up window) is sent to no one. Through `python app.py report`, which shares the page's rule."""
    import argparse

    from dashboard.reports import latest_ended
    from data_access.notify.sender import Sender
    from data_access.reports import cli
    from tests.notify_support import https_receiver, smtp_server

    d = world["where"]["district"]
    csv_file = tmp_path / "subscribers.csv"
    csv_file.write_text(
        "scope,kinds,name,role,email,phone,wecom,dingtalk,feishu,language\n"
        f"d:{d},daily,赵主任,district_director,zhao@example.invalid,,13800000002,,,zh\n",
        encoding="utf-8",
    )
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="cmd"))
    with https_receiver(tmp_path) as (rx, ca), smtp_server() as (box, port):
        s = world["settings"].model_copy(
            update={
                "var_dir": tmp_path,
                "report_scopes": f"city,d:{d}",
                "report_subscribers_csv": csv_file,
                "public_url": "https://cc.example.invalid",
                "notify_smtp_host": "127.0.0.1",
                "notify_smtp_port": port,
                "notify_smtp_from": "cc@example.invalid",
                "notify_smtp_starttls": False,
                "notify_wecom_url": f"{rx.url}/wecom?key=k",
                "notify_ca_file": ca,
                "database_url": world["svc"].url,
            }
        )
        yesterday = latest_ended("daily", datetime.now(UTC), s.zone).label  # due today at 08:00: the schedule's
        for period in (yesterday, yesterday, "2026-10-09"):  # asked twice; and a period long past the window
            args = parser.parse_args(
                ["report", "daily", "--period", period, "--scope", f"d:{d}", "--out", str(tmp_path)]
            )
            assert cli.main(args, s) == 0
        sender = Sender(s, world["svc"].engine)
        try:
            while sender.step():
                pass
        finally:
            sender.close()
    (mail,) = box.messages
    assert "zhao@example.invalid" in str(mail["To"]) and yesterday in str(mail["Subject"])
    (att,) = list(mail.iter_attachments())  # type: ignore[attr-defined]
    with world["sessions"]() as db:
        row = archive.find(db, "daily", yesterday, f"d:{d}")
        assert row is not None and row.pdf is not None
        assert pdf_text(bytes(att.get_payload(decode=True))) == pdf_text(row.pdf)
        assert row.requested_by == "command line"
    (robot,) = rx.of("/wecom")
    assert f"/reports?id={row.id}" in json.dumps(robot.body)


@pytest.mark.parametrize("scope", ["city", "district"])
def test_overdue_units_and_rows_follow_the_rule(world, scope: str) -> None:  # type: ignore[no-untyped-def]
    """The bulletin's overdue lists, from one scan, equal the rule counted in Python over every appeal row:
    received before the end, red by then, neither resolved nor closed by then."""
    from collections import Counter

    from sqlalchemy import select

    from data_access.reports import queries as q
    from data_access.store.appeal_rows import names_of
    from data_access.store.models import Appeal

    view = View() if scope == "city" else View("district", world["where"]["district"])
    end = datetime.now(UTC)  # every appeal left open past its limit is overdue by now
    with world["sessions"]() as s:
        rows = s.execute(
            select(
                Appeal.id, Appeal.unit, Appeal.red_from, Appeal.created_at, Appeal.resolved_at, Appeal.closed_at
            ).where(*q.in_view(view))
        ).all()
        units, shown = q.overdue(s, end, view, names_of(world["ctx"].refs), 3)
    late = [
        r
        for r in rows
        if r.created_at < end
        and r.red_from is not None
        and r.red_from <= end
        and (r.resolved_at is None or r.resolved_at >= end)
        and (r.closed_at is None or r.closed_at >= end)
    ]
    assert len(late) > 3, "the history has too few overdue appeals to compare"
    counted = sorted(Counter(r.unit for r in late).items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    assert units == counted[:3]
    assert [r["id"] for r in shown] == [r.id for r in sorted(late, key=lambda r: (r.red_from, r.id))[:3]]

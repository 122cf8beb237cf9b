"""The contacts roster: file problems named (file, row, what), nothing half-loaded, re-read on change; the demo
city's roster is complete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo.contacts import COLUMNS, RosterFile, missing_duties, read_roster
from geo.synth_contacts import build_contacts
from geo.validate import CityDataError
from tests.conftest import demo_city

HEADER = ",".join(COLUMNS)


def _write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def _codes() -> tuple[str, str, str, str]:
    c = demo_city()
    return c.units["code"].iat[0], c.districts["code"].iat[0], c.streets["code"].iat[0], c.grids["code"].iat[0]


def test_contacts001_good_file(tmp_path: Path) -> None:
    unit, district, _street, grid = _codes()
    path = _write(
        tmp_path / "contacts.csv",
        f"unit,{unit},principal,王伟,+86 138-0000-0000,,,,,",
        f"unit,{unit},principal,李娜,,lina@example.org,,,,en",
        f"district,{district},supervision_office,张敏,,,wx-zm,,,zh",
        f"grid,{grid},supervisor,刘洋,,,,dt-ly,,",
    )
    roster = read_roster(path, demo_city())
    assert [p.name for p in roster.of(("unit", unit, "principal"))] == ["王伟", "李娜"]
    assert roster.of(("unit", unit, "principal"))[1].language == "en"
    assert roster.of(("grid", grid, "supervisor"))[0].dingtalk == "dt-ly"
    assert roster.of(("unit", unit, "leader_in_charge")) == ()
    assert len(roster) == 4


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("unit,{unit},mayor,王伟,13800000000,,,,,", "role 'mayor' is not a unit role"),
        ("shop,{unit},principal,王伟,13800000000,,,,,", "unknown kind 'shop'"),
        ("unit,X999,principal,王伟,13800000000,,,,,", "unknown unit 'X999' (not in the city)"),
        ("unit,{unit},principal,,13800000000,,,,,", "empty name"),
        ("unit,{unit},principal,王伟,,,,,,", "no way to reach 王伟"),
        ("unit,{unit},principal,王伟,call me,,,,,", "phone 'call me' is not a phone number"),
        ("unit,{unit},principal,王伟,,wang@,,,,", "email 'wang@' is not an e-mail address"),
        ("unit,{unit},principal,王伟,,,wx id,,,", "wecom id 'wx id' has characters"),
        ("unit,{unit},principal,王伟,13800000000,,,,,fr", "lang 'fr' is not zh or en"),
        ("grid,{district},supervisor,王伟,13800000000,,,,,", "unknown grid"),
    ],
)
def test_contacts002_problems_name_file_and_row(tmp_path: Path, row: str, problem: str) -> None:
    """The bad second data row is named (rows count data rows from 1, as in every city file's problems), with
    its problem, and it is the only problem listed."""
    unit, district, _street, _grid = _codes()
    good = f"unit,{unit},leader_in_charge,赵强,13900000000,,,,,"
    path = _write(tmp_path / "contacts.csv", good, row.format(unit=unit, district=district))
    with pytest.raises(CityDataError) as err:
        read_roster(path, demo_city())
    assert len(err.value.problems) == 1, err.value.problems
    (text,) = err.value.problems
    assert text.startswith(f"{path}: row 2") and problem in text


def test_contacts003_duplicate_and_missing_columns(tmp_path: Path) -> None:
    unit, *_ = _codes()
    row = f"unit,{unit},principal,王伟,13800000000,,,,,"
    path = _write(tmp_path / "contacts.csv", row, row)
    with pytest.raises(CityDataError, match="already principal of this unit on row 1"):
        read_roster(path, demo_city())
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,code,name\nunit,x,y\n", encoding="utf-8")
    with pytest.raises(CityDataError, match=r"bad.csv: header: missing column\(s\) role"):
        read_roster(bad, demo_city())
    with pytest.raises(CityDataError, match="no such file"):
        read_roster(tmp_path / "none.csv", demo_city())


def test_contacts004_change_applies_to_the_next_read_bad_change_refused(tmp_path: Path) -> None:
    unit, *_ = _codes()
    path = _write(tmp_path / "contacts.csv", f"unit,{unit},principal,王伟,13800000000,,,,,")
    source = RosterFile(path, demo_city())
    assert source.current().of(("unit", unit, "principal"))[0].name == "王伟"
    _write(path, f"unit,{unit},principal,李娜,13800000001,,,,,")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))  # a different stamp even within one clock tick
    assert source.current().of(("unit", unit, "principal"))[0].name == "李娜"
    _write(path, f"unit,{unit},principal,,13800000001,,,,,")  # broken: the last good roster stays
    os.utime(path, ns=(1, 3_000_000_000_000_000_000))
    assert source.current().of(("unit", unit, "principal"))[0].name == "李娜"
    assert source.error and "empty name" in source.error


def test_contacts005_demo_roster_complete_and_valid(tmp_path: Path) -> None:
    """Every duty of the demo city has a person, the file round-trips through the checks, both languages occur."""
    city = demo_city()
    frame = build_contacts(city)
    path = tmp_path / "contacts.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    roster = read_roster(path, city)
    assert missing_duties(roster, city) == []
    langs = {p.language for people in roster.people.values() for p in people}
    assert langs == {"zh", "en"}
    expected = 2 * (len(city.units) + len(city.districts) + len(city.streets) + 1) + len(city.grids)
    assert len(roster) == expected

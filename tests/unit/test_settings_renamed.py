"""Renamed settings (FOLDERS -> PROJECTORS, FOLD_BATCH -> PROJECTION_BATCH): the old names still work, from the
environment, `.env` or a keyword, warn once per process, and give way to the new name when both are given."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard import settings as settings_module
from dashboard.settings import SettingsError, load_settings

NAMES = ("FOLDERS", "FOLD_BATCH", "PROJECTORS", "PROJECTION_BATCH")


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No renamed setting in the environment, none warned about yet, warnings captured."""
    monkeypatch.setattr(settings_module, "_warned", set())
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="dashboard.settings"):
        yield


def warnings_(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dashboard.settings" and r.levelno == logging.WARNING]


def test_old_environment_names_work_and_warn_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FOLDERS", "3")
    monkeypatch.setenv("fold_batch", "1234")  # environment names are case-insensitive, as the new ones
    first, again = load_settings(), load_settings()
    assert (first.projectors, first.projection_batch) == (3, 1234) == (again.projectors, again.projection_batch)
    got = warnings_(caplog)
    assert len(got) == 2, got  # one per old name, however often settings are read
    assert any("FOLDERS" in m and "PROJECTORS" in m and "deprecated" in m for m in got), got
    assert any("FOLD_BATCH" in m and "PROJECTION_BATCH" in m and "deprecated" in m for m in got), got


def test_old_keywords_and_dotenv_names_work(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = load_settings(folders=4, fold_batch=10)
    assert (s.projectors, s.projection_batch) == (4, 10)
    env = tmp_path / ".env"
    env.write_text("FOLDERS=5\nFOLD_BATCH=20\n")
    s = load_settings(_env_file=env)
    assert (s.projectors, s.projection_batch) == (5, 20)
    assert len(warnings_(caplog)) == 2


def test_the_new_name_wins_over_the_old(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("FOLDERS", "3")
    monkeypatch.setenv("PROJECTORS", "4")
    assert load_settings().projectors == 4
    assert load_settings(fold_batch=10, projection_batch=30).projection_batch == 30
    got = warnings_(caplog)
    assert len(got) == 2 and all("ignored" in m for m in got), got
    assert any("FOLDERS" in m and "PROJECTORS" in m for m in got), got


def test_a_wrong_value_under_the_old_name_is_named_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLDERS", "0")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "PROJECTORS (formerly FOLDERS)" in str(err.value)


def test_the_new_names_alone_warn_nothing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PROJECTORS", "3")
    s = load_settings(projection_batch=100)
    assert (s.projectors, s.projection_batch) == (3, 100)
    assert warnings_(caplog) == []

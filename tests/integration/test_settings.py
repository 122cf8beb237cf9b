"""A wrong setting stops start-up with a message that names it and says why."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dashboard.settings import SettingsError, load_settings
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "overrides, names",
    [
        ({"time_zone": "Mars/Olympus"}, ["TIME_ZONE", "unknown time zone"]),
        ({"yellow_at": 0.8, "red_at": 0.5}, ["YELLOW_AT", "RED_AT"]),
        ({"port": 70000}, ["PORT"]),
        ({"database_url": "mysql://x"}, ["DATABASE_URL", "sqlite"]),
        ({"redis_url": "http://x"}, ["REDIS_URL", "redis://"]),
        ({"database_read_url": "sqlite:///x.sqlite"}, ["DATABASE_READ_URL", "postgresql"]),
        ({"database_read_url": "postgresql+psycopg://r/db"}, ["DATABASE_READ_URL", "DATABASE_URL"]),
        ({"replica_max_lag_s": 0}, ["REPLICA_MAX_LAG_S"]),
        ({"default_lang": "fr"}, ["DEFAULT_LANG"]),
        ({"limit_urgent_h": 0}, ["LIMIT_URGENT_H"]),
    ],
)
def test_settings001_bad_values_named(overrides, names):  # type: ignore[no-untyped-def]
    with pytest.raises(SettingsError) as err:
        load_settings(**overrides)
    for n in names:
        assert n in str(err.value)


def test_settings002_app_refuses_to_start():  # type: ignore[no-untyped-def]
    env = dict(os.environ, TIME_ZONE="Nowhere/Land", PORT="abc")
    run = subprocess.run(
        [sys.executable, "app.py", "--no-demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2
    assert "TIME_ZONE" in run.stderr and "PORT" in run.stderr


def test_settings003_limits_per_priority():  # type: ignore[no-untyped-def]
    s = load_settings(limit_emergency_h=3)
    assert s.limit("emergency").total_seconds() == 3 * 3600
    assert s.limit("routine").days == 15

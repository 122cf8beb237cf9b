"""A renamed setting under its old name: `python app.py` starts with it and says so once, naming the new name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_startup_warns_once_per_old_name(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("PROJECTORS", "PROJECTION_BATCH")}
    env.update(FOLDERS="3", FOLD_BATCH="500", DATABASE_URL=f"sqlite:///{tmp_path / 'store.sqlite'}")
    run = subprocess.run(
        [sys.executable, "app.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "deprecated" in line]
    assert len(lines) == 2, run.stderr
    assert sum("FOLDERS" in line and "PROJECTORS=3" in line and "WARNING" in line for line in lines) == 1, lines
    assert sum("FOLD_BATCH" in line and "PROJECTION_BATCH=500" in line for line in lines) == 1, lines

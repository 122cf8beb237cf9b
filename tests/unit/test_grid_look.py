"""Every grid of the screens speaks the page's language and wears the wall's dark theme (no ag-grid default)."""

from __future__ import annotations

import pytest

from dashboard.i18n import t
from layouts import drill_grids, ledger

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_grids_share_one_look(lang: str) -> None:
    grids = [ledger.grid([], lang), drill_grids.grid("red", lang)]
    for g in grids:
        opts = g.dashGridOptions
        assert opts["theme"] == {"function": drill_grids.THEME}
        assert opts["localeText"]["noRowsToShow"] == t(lang, "grid_no_rows") != "No Rows To Show"
        assert "ag-theme" not in (g.className or "")  # a legacy theme class would fight the theme above

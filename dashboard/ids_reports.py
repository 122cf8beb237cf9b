"""Component ids of the reports page (the shell's ids live in dashboard/ids.py)."""

from __future__ import annotations

PAGE = "reports-page"
KIND = "reports-kind"
PERIOD = "reports-period"
SCOPE = "reports-scope"
MAKE = "reports-make"
STATUS = "reports-status"
WATCH = "reports-watch"  # dcc.Interval polling a build's progress
ASKED = "reports-asked"  # dcc.Store: the report asked for {kind, period, scope}
ARCHIVE = "reports-archive"

"""Browser tests' fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from data_access.ops.pools import close_all


@pytest.fixture
def dash_duo(dash_duo: Any) -> Iterator[Any]:
    """dash's `dash_duo`, with the app's pools stopped before it stops the server: it stops a server in a thread by
    raising SystemExit in every thread started since, and an idle pool thread raises it when the process exits
    ("Exception in worker")."""
    yield dash_duo
    close_all()

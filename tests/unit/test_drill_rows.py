"""A grid's block request: what is answered, what is refused (and named)."""

from __future__ import annotations

import pytest

from data_access.drill.rows import MAX_BLOCK, Block, RowsError, block_of


def test_block_of_reads_paging_sorting_and_text_filters() -> None:
    req = {
        "startRow": 50,
        "endRow": 100,
        "sortModel": [{"colId": "late", "sort": "desc"}],
        "filterModel": {"summary": {"filterType": "text", "type": "contains", "filter": "50%_off"}},
    }
    assert block_of("red", req) == Block(50, 100, (("late", True),), (("summary", "contains", "50%_off"),))
    assert block_of("members", {"startRow": 0, "endRow": 10_000}).end == MAX_BLOCK  # one block at most


@pytest.mark.parametrize(
    "table,req,named",
    [
        ("users", {"startRow": 0, "endRow": 50}, "table"),
        ("red", {"startRow": -1, "endRow": 50}, "startRow"),
        ("red", {"startRow": "0", "endRow": 50}, "startRow"),
        ("red", {"startRow": 10, "endRow": 10}, "startRow"),
        ("red", {"startRow": 0, "endRow": 50, "sortModel": [{"colId": "summary", "sort": "asc"}]}, "sort"),
        ("red", {"startRow": 0, "endRow": 50, "sortModel": [{"colId": "id", "sort": "sideways"}]}, "sort"),
        ("appeals", {"startRow": 0, "endRow": 50, "filterModel": {"district": {}}}, "filter"),
        (
            "appeals",
            {
                "startRow": 0,
                "endRow": 50,
                "filterModel": {"id": {"filterType": "text", "type": "regex", "filter": "."}},
            },
            "filter",
        ),
        (
            "appeals",
            {"startRow": 0, "endRow": 50, "filterModel": {"id": {"filterType": "text", "type": "equals", "filter": 1}}},
            "filter",
        ),
        (
            "appeals",
            {
                "startRow": 0,
                "endRow": 50,
                "filterModel": {"id": {"filterType": "text", "type": "equals", "filter": "x" * 65}},
            },
            "longer",
        ),
    ],
)
def test_block_of_refuses_and_names_what(table: str, req: dict[str, object], named: str) -> None:
    with pytest.raises(RowsError, match=named):
        block_of(table, req)

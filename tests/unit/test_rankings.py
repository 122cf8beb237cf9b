"""Table tests of the ranking rules: rates, composite, small samples, rank change, classes, volume top ten."""

from __future__ import annotations

from operator import attrgetter

import pytest

from dashboard.rankings import (
    DEFAULT,
    RankingConfig,
    Tally,
    class_counts,
    classify,
    composite,
    credit,
    rank_month,
    rates,
    small_sample,
    tally,
    volume_top,
)


@pytest.mark.parametrize(
    "tally, expect",
    [
        (Tally("a", "A", reviewed=0), (None, None, None)),
        (Tally("a", "A", reviewed=10, responded=10, resolved=5, satisfied=8), (1.0, 0.5, 0.8)),
        (Tally("a", "A", reviewed=4, responded=3, resolved=0, satisfied=0), (0.75, 0.0, 0.0)),
    ],
)
def test_rates(tally: Tally, expect: tuple) -> None:
    assert rates(tally) == expect


@pytest.mark.parametrize(
    "responded, resolved, satisfied, expect",
    [
        (100, 100, 100, 100.0),
        (0, 0, 0, 0.0),
        (100, 0, 0, 20.0),  # response weighs 0.2
        (0, 100, 0, 40.0),  # resolution 0.4
        (0, 0, 100, 40.0),  # satisfaction 0.4
        (50, 50, 50, 50.0),
    ],
)
def test_composite_weights(responded: int, resolved: int, satisfied: int, expect: float) -> None:
    assert composite(Tally("a", "A", reviewed=100, responded=responded, resolved=resolved, satisfied=satisfied)) == pytest.approx(expect)


def test_composite_none_without_reviews() -> None:
    assert composite(Tally("a", "A", volume=50)) is None


@pytest.mark.parametrize(
    "answer, expect", [("satisfied", 1.0), ("basically_satisfied", 1.0), ("dissatisfied", 0.0), (None, 0.0), ("x", 0.0)]
)
def test_satisfaction_credit(answer: str | None, expect: float) -> None:
    assert credit(answer) == expect


def test_weights_must_sum_to_one() -> None:
    with pytest.raises(ValueError):
        RankingConfig(w_response=0.5, w_resolution=0.5, w_satisfaction=0.5)


def _t(code: str, score: int, reviewed: int = 100, volume: int = 100) -> Tally:
    """A tally whose three rates are all score/100."""
    k = reviewed * score // 100
    return Tally(code, code.upper(), volume=volume, reviewed=reviewed, responded=k, resolved=k, satisfied=k)


def test_small_sample_marked_not_ranked() -> None:
    rows = rank_month([_t("a", 60), _t("b", 99, reviewed=DEFAULT.min_reviewed - 1), _t("c", 50)])
    by = {r.code: r for r in rows}
    assert by["b"].small_sample and by["b"].rank is None and by["b"].cls is None
    assert by["b"].composite is not None  # rates are shown, just not ranked
    assert (by["a"].rank, by["c"].rank) == (1, 2)
    assert [r.code for r in rows] == ["a", "c", "b"]  # ranked first, small samples after


@pytest.mark.parametrize(
    "prev_scores, cur_scores, expect_change",
    [
        ({"a": 90, "b": 80, "c": 70}, {"a": 90, "b": 80, "c": 70}, {"a": 0, "b": 0, "c": 0}),
        ({"a": 90, "b": 80, "c": 70}, {"a": 60, "b": 80, "c": 70}, {"a": -2, "b": 1, "c": 1}),
        ({"a": 90, "b": 80}, {"a": 90, "b": 80, "c": 70}, {"a": 0, "b": 0, "c": None}),  # c is new
    ],
)
def test_month_on_month_change(prev_scores: dict, cur_scores: dict, expect_change: dict) -> None:
    rows = rank_month([_t(k, v) for k, v in cur_scores.items()], [_t(k, v) for k, v in prev_scores.items()])
    assert {r.code: r.change for r in rows} == expect_change


def test_previous_small_sample_gives_no_change() -> None:
    # Last month only b was ranked (1st of 1); now it is 2nd: a has no change, b moved down one.
    rows = rank_month([_t("a", 90), _t("b", 80)], [_t("a", 90, reviewed=3), _t("b", 80)])
    assert {r.code: r.change for r in rows} == {"a": None, "b": -1}


# classify(rank, n, volume_rank, change): n = 100 ranked units with the default config
@pytest.mark.parametrize(
    "rank, volume_rank, change, expect",
    [
        (1, 50, None, "advanced"),  # top 10%
        (10, 50, None, "advanced"),
        (11, 50, None, None),
        (50, 50, 10, "improving"),  # rose 10 places
        (50, 50, 9, None),
        (91, 50, None, "rectification"),  # bottom 10
        (90, 50, None, None),
        (95, 5, None, "governance"),  # high volume (top 10%) and weak score (bottom 30%)
        (75, 5, None, "governance"),
        (70, 5, None, None),  # high volume, score not weak enough
        (95, 11, None, "rectification"),  # weak, volume not high enough
        (5, 1, 40, "advanced"),  # high volume, strong
        (91, 50, 30, "rectification"),  # rectification before improving
    ],
)
def test_classes(rank: int, volume_rank: int, change: int | None, expect: str | None) -> None:
    assert classify(rank, 100, volume_rank, change) == expect


def test_classes_small_field() -> None:
    """With 16 districts: 10% rounds to two advanced, bottom 4 at most in rectification."""
    assert classify(2, 16, 8, None) == "advanced"
    assert classify(3, 16, 8, None) is None
    assert classify(13, 16, 8, None) == "rectification"
    assert classify(12, 16, 8, None) is None


def test_volume_top_ten_and_early_warning() -> None:
    cur = [_t(f"u{i:02d}", 95 - i, volume=1000 - i * 10) for i in range(30)]
    rows = rank_month(cur)
    top = volume_top(rows, attrgetter("volume_rank"))
    assert [r.code for r in top] == [f"u{i:02d}" for i in range(10)]
    assert all(r.early_warning for r in top if r.cls != "governance")
    assert not any(r.early_warning for r in rows if r.volume_rank and r.volume_rank > 10)


def test_governance_units_not_warned() -> None:
    # The biggest unit by volume is also the weakest: governance-priority, no early warning.
    cur = [_t(f"u{i:02d}", 90 - i, volume=100) for i in range(29)] + [_t("big", 10, volume=10_000)]
    rows = {r.code: r for r in rank_month(cur)}
    assert rows["big"].cls == "governance" and not rows["big"].early_warning
    assert class_counts(r.cls for r in rows.values())["governance"] == 1


def test_small_sample_units_count_for_volume_top() -> None:
    rows = rank_month([_t("a", 90, volume=10), _t("b", 90, reviewed=2, volume=500)])
    assert [r.code for r in volume_top(rows, attrgetter("volume_rank"))] == ["b", "a"]
    as_dicts = [r.as_dict() for r in rows]
    assert [r["code"] for r in volume_top(as_dicts, lambda r: r["volume_rank"])] == ["b", "a"]


def test_tally_from_answer_counts_and_small_sample() -> None:
    t = tally("s", "S", volume=40, reviewed=20, responded=18, resolved=15,
              answers={"satisfied": 10, "basically_satisfied": 4, "dissatisfied": 6, "unknown": 3})
    assert t.satisfied == 14.0 and rates(t) == (0.9, 0.75, 0.7)
    assert not small_sample(t) and small_sample(tally("s", "S", 0, 19, 0, 0, {}))
    assert small_sample(t, RankingConfig(min_reviewed=21))


def test_class_counts_always_name_the_four_classes() -> None:
    assert class_counts([]) == {"advanced": 0, "improving": 0, "rectification": 0, "governance": 0}
    assert class_counts(["advanced", None, "advanced", "governance"]) == {
        "advanced": 2, "improving": 0, "rectification": 0, "governance": 1}

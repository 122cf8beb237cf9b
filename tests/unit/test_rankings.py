"""Table tests of the ranking rules: rates, composite, exact ties, shares, small samples, rank change, classes,
volume top ten, and the counting rules (which call-backs and whose volume count in a month)."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from operator import attrgetter
from typing import Any

import pytest

from dashboard.contract import Event, parse_event
from dashboard.rankings import (
    DEFAULT,
    RankingConfig,
    Tally,
    class_counts,
    classify,
    composite,
    credit,
    exact,
    exact_credit,
    month_share,
    rank_month,
    rates,
    score,
    share,
    small_sample,
    tally,
    volume_top,
)
from tests.conftest import TZ, ev


@pytest.mark.parametrize(
    "tally, expect",
    [
        (Tally("a", "A", reviewed=0), (None, None, None)),
        (Tally("a", "A", reviewed=10, responded=10, resolved=5, satisfied=Fraction(8)), (1.0, 0.5, 0.8)),
        (Tally("a", "A", reviewed=4, responded=3, resolved=0, satisfied=Fraction(0)), (0.75, 0.0, 0.0)),
    ],
)
def test_rates(tally: Tally, expect: tuple[float, float, float]) -> None:
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
    assert composite(
        Tally("a", "A", reviewed=100, responded=responded, resolved=resolved, satisfied=Fraction(satisfied))
    ) == pytest.approx(expect)


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
    return Tally(code, code.upper(), volume=volume, reviewed=reviewed, responded=k, resolved=k, satisfied=Fraction(k))


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
def test_month_on_month_change(
    prev_scores: dict[str, int], cur_scores: dict[str, int], expect_change: dict[str, int | None]
) -> None:
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
    """With 16 districts: 10% names one advanced (1.6 rounds down), bottom 4 at most in rectification."""
    assert classify(1, 16, 8, None) == "advanced"
    assert classify(2, 16, 8, None) is None
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
    cur = [_t(f"u{i:02d}", 90 - i, volume=100 - i) for i in range(29)] + [_t("big", 10, volume=10_000)]
    rows = {r.code: r for r in rank_month(cur)}
    assert rows["big"].cls == "governance" and not rows["big"].early_warning
    assert class_counts(r.cls for r in rows.values())["governance"] == 1


def test_small_sample_units_count_for_volume_top() -> None:
    rows = rank_month([_t("a", 90, volume=10), _t("b", 90, reviewed=2, volume=500)])
    assert [r.code for r in volume_top(rows, attrgetter("volume_rank"))] == ["b", "a"]
    as_dicts = [r.as_dict() for r in rows]
    assert [r["code"] for r in volume_top(as_dicts, lambda r: r["volume_rank"])] == ["b", "a"]


def test_tally_from_answer_counts_and_small_sample() -> None:
    t = tally(
        "s",
        "S",
        volume=40,
        reviewed=20,
        responded=18,
        resolved=15,
        answers={"satisfied": 10, "basically_satisfied": 4, "dissatisfied": 6, "unknown": 3},
    )
    assert t.satisfied == 14.0 and rates(t) == (0.9, 0.75, 0.7)
    assert not small_sample(t) and small_sample(tally("s", "S", 0, 19, 0, 0, {}))
    assert small_sample(t, RankingConfig(min_reviewed=21))


def test_class_counts_always_name_the_four_classes() -> None:
    assert class_counts([]) == {"advanced": 0, "improving": 0, "rectification": 0, "governance": 0}
    assert class_counts(["advanced", None, "advanced", "governance"]) == {
        "advanced": 2,
        "improving": 0,
        "rectification": 0,
        "governance": 1,
    }


# -- exact ties and shares ------------------------------------------------------------------------------
def test_exact_tie_goes_to_more_callbacks_not_float_noise() -> None:
    """Both score exactly 65; as floats "a" came out 65.00000000000001 and ranked first by noise."""
    a = Tally("a", "A", volume=5, reviewed=20, responded=15, resolved=10, satisfied=Fraction(15))
    b = Tally("b", "B", volume=5, reviewed=24, responded=20, resolved=14, satisfied=Fraction(15))

    def as_float(t: Tally) -> float:
        return 100.0 * (
            0.2 * (t.responded / t.reviewed) + 0.4 * (t.resolved / t.reviewed) + 0.4 * (t.satisfied / t.reviewed)
        )

    assert as_float(a) == 65.00000000000001 and as_float(b) == 65.0
    assert score(a) == score(b) == 65
    assert [(r.code, r.rank) for r in rank_month([a, b])] == [("b", 1), ("a", 2)]


def test_exact_tie_with_equal_callbacks_goes_by_code() -> None:
    x = Tally("x", "X", reviewed=20, responded=15, resolved=10, satisfied=Fraction(15))
    w = Tally("w", "W", reviewed=20, responded=15, resolved=15, satisfied=Fraction(10))  # 65 too
    assert [r.code for r in rank_month([x, w])] == ["w", "x"]


def test_credits_add_up_exactly() -> None:
    """Ten answers of credit 0.1 are exactly one, as the decimal written."""
    cfg = RankingConfig(satisfaction_credit={"satisfied": 1.0, "basically_satisfied": 0.1, "dissatisfied": 0.0})
    assert sum((exact_credit("basically_satisfied", cfg) for _ in range(10)), Fraction(0)) == 1
    assert exact(0.1) == Fraction(1, 10) and credit("basically_satisfied", cfg) == 0.1


@pytest.mark.parametrize(
    "n, part, expect",
    [
        (0, 0.1, 0),
        (5, 0.1, 1),  # 0.5: at least one
        (16, 0.1, 1),  # 1.6 rounds down
        (25, 0.1, 2),  # 2.5 rounds down
        (30, 0.1, 3),
        (343, 0.1, 34),
        (100, 0.29, 29),  # as floats 28.999999999999996
        (10, 0.3, 3),
        (16, 0.3, 4),
    ],
)
def test_share_rounds_down_exactly_at_least_one(n: int, part: float, expect: int) -> None:
    assert share(n, part) == expect


def test_equal_volumes_at_the_top_ten_cut_are_all_in() -> None:
    vols = [200, 190, 180, 170, 160, 150, 140, 130, 120, 110, 110, 110, 100]
    rows = rank_month([_t(f"u{i:02d}", 80, volume=v) for i, v in enumerate(vols)])
    top = volume_top(rows, attrgetter("volume_rank"))
    assert [(r.code, r.volume_rank) for r in top][-3:] == [("u09", 10), ("u10", 10), ("u11", 10)]
    assert len(top) == 12 and all(r.early_warning for r in top)
    assert {r.code: r.volume_rank for r in rows}["u12"] == 13


def test_equal_volumes_share_the_governance_cut() -> None:
    """Of 20 ranked units the top 10 % by volume are two; three tied at the second volume are all in."""
    cur = [_t(f"u{i:02d}", 90 - i, volume=100) for i in range(17)]
    cur += [_t("big", 10, volume=500), _t("w1", 12, volume=400), _t("w2", 11, volume=400)]
    rows = {r.code: r for r in rank_month(cur)}
    assert (rows["w1"].volume_rank, rows["w2"].volume_rank) == (2, 2)
    assert {c for c, r in rows.items() if r.cls == "governance"} == {"big", "w1", "w2"}


# -- the counting rules over one appeal's events ------------------------------------------------------
NOV = (datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))
DEC = (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
NOV_CUT = datetime(2026, 12, 4, tzinfo=TZ)  # close_days = 3


def _events(spec: list[tuple[Any, ...]]) -> list[Event]:
    """Events of appeal X from (type, 'MM-DD HH:MM', fields); ids number them in the order given."""
    out = []
    for i, (type_, when, fields) in enumerate(spec):
        at = datetime.fromisoformat(f"2026-{when}:00+08:00")
        if type_ == "created":
            fields = {
                "channel": "phone",
                "kind": "complaint",
                "category": ["城市管理"],
                "priority": "normal",
                "community": "c1",
                **fields,
            }
        out.append(parse_event(ev(type_, "X", at, f"X-{i:02d}", **fields)))
    return out


GOOD = {"responded": True, "resolved": True, "satisfaction": "satisfied"}
BAD = {"responded": True, "resolved": False, "satisfaction": "dissatisfied"}


@pytest.mark.parametrize(
    "case, spec, month, cutoff, expect_unit, expect_callbacks",
    [
        (
            "handled and called back by one street",
            [
                ("created", "11-05 09:00", {}),
                ("dispatched", "11-05 10:00", {"unit": "S1"}),
                ("accepted", "11-05 11:00", {"unit": "S1"}),
                ("resolved", "11-06 09:00", {"unit": "S1"}),
                ("reviewed", "11-08 09:00", GOOD),
            ],
            NOV,
            None,
            "S1",
            [("S1", "11-08")],
        ),
        (
            "a re-dispatch moves the volume to the new unit",
            [
                ("created", "11-05 09:00", {}),
                ("dispatched", "11-05 10:00", {"unit": "S1"}),
                ("returned", "11-05 12:00", {"unit": "S1"}),
                ("dispatched", "11-05 13:00", {"unit": "S2"}),
            ],
            NOV,
            None,
            "S2",
            [],
        ),
        (
            "returned and not yet dispatched again: no unit's volume",
            [
                ("created", "11-05 09:00", {}),
                ("dispatched", "11-05 10:00", {"unit": "S1"}),
                ("returned", "11-05 12:00", {"unit": "S1"}),
            ],
            NOV,
            None,
            None,
            [],
        ),
        ("never dispatched: no unit's volume", [("created", "11-05 09:00", {})], NOV, None, None, []),
        (
            "called back, reopened, called back next month: the first call-back stays in November",
            [
                ("created", "11-25 09:00", {}),
                ("dispatched", "11-25 10:00", {"unit": "S1"}),
                ("resolved", "11-27 09:00", {"unit": "S1"}),
                ("reviewed", "11-28 09:00", BAD),
                ("reopened", "11-29 09:00", {}),
                ("resolved", "12-02 09:00", {"unit": "S1"}),
                ("reviewed", "12-03 09:00", GOOD),
            ],
            NOV,
            None,
            "S1",
            [("S1", "11-28")],
        ),
        (
            "... and the second counts in December (the appeal's volume stays in November)",
            [
                ("created", "11-25 09:00", {}),
                ("dispatched", "11-25 10:00", {"unit": "S1"}),
                ("resolved", "11-27 09:00", {"unit": "S1"}),
                ("reviewed", "11-28 09:00", BAD),
                ("reopened", "11-29 09:00", {}),
                ("resolved", "12-02 09:00", {"unit": "S1"}),
                ("reviewed", "12-03 09:00", GOOD),
            ],
            DEC,
            None,
            None,
            [("S1", "12-03")],
        ),
        (
            "each call-back counts for the unit handling the appeal when it was made",
            [
                ("created", "11-05 09:00", {}),
                ("dispatched", "11-05 10:00", {"unit": "S1"}),
                ("resolved", "11-06 09:00", {"unit": "S1"}),
                ("reviewed", "11-07 09:00", BAD),
                ("reopened", "11-08 09:00", {}),
                ("dispatched", "11-08 10:00", {"unit": "D1"}),
                ("resolved", "11-09 09:00", {"unit": "D1"}),
                ("reviewed", "11-10 09:00", GOOD),
            ],
            NOV,
            None,
            "D1",
            [("S1", "11-07"), ("D1", "11-10")],
        ),
        (
            "a call-back while the appeal is returned counts for no unit",
            [
                ("created", "11-05 09:00", {}),
                ("dispatched", "11-05 10:00", {"unit": "S1"}),
                ("returned", "11-06 09:00", {"unit": "S1"}),
                ("reviewed", "11-07 09:00", BAD),
            ],
            NOV,
            None,
            None,
            [],
        ),
        (
            "a final month counts volume at its cut-off: a re-dispatch after it does not move it",
            [
                ("created", "11-28 09:00", {}),
                ("dispatched", "11-28 10:00", {"unit": "S1"}),
                ("returned", "12-10 09:00", {"unit": "S1"}),
                ("dispatched", "12-10 10:00", {"unit": "S2"}),
            ],
            NOV,
            NOV_CUT,
            "S1",
            [],
        ),
        (
            "... a provisional one counts it now",
            [
                ("created", "11-28 09:00", {}),
                ("dispatched", "11-28 10:00", {"unit": "S1"}),
                ("returned", "12-10 09:00", {"unit": "S1"}),
                ("dispatched", "12-10 10:00", {"unit": "S2"}),
            ],
            NOV,
            None,
            "S2",
            [],
        ),
        (
            "... and a re-dispatch dated before the cut-off moves it (the 30th's appeal first dispatched on the 1st)",
            [("created", "11-30 23:00", {}), ("dispatched", "12-01 09:00", {"unit": "S2"})],
            NOV,
            NOV_CUT,
            "S2",
            [],
        ),
        (
            "created the month before: no volume, its call-backs in the month count",
            [
                ("created", "10-30 09:00", {}),
                ("dispatched", "10-30 10:00", {"unit": "S1"}),
                ("resolved", "10-31 09:00", {"unit": "S1"}),
                ("reviewed", "11-02 09:00", GOOD),
            ],
            NOV,
            None,
            None,
            [("S1", "11-02")],
        ),
        (
            "the earliest `created` holds: a duplicate dated later does not bring it into the month",
            [
                ("created", "10-30 09:00", {}),
                ("created", "11-02 09:00", {}),
                ("dispatched", "11-02 10:00", {"unit": "S1"}),
            ],
            NOV,
            None,
            None,
            [],
        ),
        (
            "events at the same time apply in id order",
            [
                ("created", "11-05 09:00", {}),
                ("dispatched", "11-05 10:00", {"unit": "S2"}),
                ("dispatched", "11-05 10:00", {"unit": "S1"}),
            ],
            NOV,
            None,
            "S1",
            [],
        ),
    ],
)
def test_counting_rules(
    case: str,
    spec: list[tuple[Any, ...]],
    month: tuple[datetime, datetime],
    cutoff: datetime | None,
    expect_unit: str | None,
    expect_callbacks: list[tuple[str, str]],
) -> None:
    events = _events(spec)
    for order in (events, events[::-1], sorted(events, key=lambda e: e.type)):  # arrival order does not matter
        unit, calls = month_share(order, *month, cutoff)
        assert unit == expect_unit, case
        assert [(c.unit, c.at.astimezone(TZ).strftime("%m-%d")) for c in calls] == expect_callbacks, case


def test_later_events_do_not_change_a_months_callbacks() -> None:
    """Every prefix (by time) of a history that reaches past November gives November the same call-backs."""
    spec = [
        ("created", "11-25 09:00", {}),
        ("dispatched", "11-25 10:00", {"unit": "S1"}),
        ("resolved", "11-27 09:00", {"unit": "S1"}),
        ("reviewed", "11-28 09:00", BAD),
        ("reopened", "11-29 09:00", {}),
        ("returned", "12-01 09:00", {"unit": "S1"}),
        ("dispatched", "12-01 10:00", {"unit": "S2"}),
        ("resolved", "12-02 09:00", {"unit": "S2"}),
        ("reviewed", "12-03 09:00", GOOD),
    ]
    events = _events(spec)
    full = month_share(events, *NOV)[1]
    for k in range(4, len(events) + 1):
        assert month_share(events[:k], *NOV)[1] == full
    assert [(c.unit, c.resolved) for c in full] == [("S1", False)]

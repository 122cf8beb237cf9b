"""The pure rules of notifications: channels and addresses, retry delays, digest folding, texts, the chip,
and the settings that must stop start-up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.notices import (
    Item,
    Recipient,
    Waiting,
    address,
    compose,
    digest,
    digest_members,
    enabled_channels,
    full_link,
    is_mobile,
    retry_delay,
)
from dashboard.settings import SettingsError, load_settings
from layouts.notify_chip import chip_state

T0 = datetime(2026, 11, 29, 6, tzinfo=UTC)
M = timedelta(minutes=1)


def test_address_per_channel_and_mentions() -> None:
    r = Recipient("王", "principal", "13800000001", " ", "wang", None, "ou_1")
    assert [address(r, c) for c in ("wecom", "dingtalk", "feishu", "sms", "email")] == [
        "wang",
        None,
        "ou_1",
        "13800000001",
        None,  # blank counts as none
    ]
    assert is_mobile("13800000001") and is_mobile("+8613800000001")
    assert not is_mobile("wang") and not is_mobile("23800000001") and not is_mobile("1380000000")


def test_enabled_channels_follow_settings() -> None:
    assert enabled_channels(load_settings(demo=False)) == ()
    s = load_settings(demo=False, notify_feishu_url="https://x/f", notify_smtp_host="h", notify_smtp_from="a@b")
    assert enabled_channels(s) == ("feishu", "email")


@pytest.mark.parametrize(
    "failures,low,high",
    [(1, 5, 10), (2, 10, 20), (3, 20, 40), (4, 40, 80), (10, 50, 100), (30, 50, 100)],
)
def test_retry_delay_doubles_with_equal_jitter_up_to_the_cap(failures: int, low: float, high: float) -> None:
    rng = random.Random(7)
    delays = [retry_delay(failures, 10, 100, rng) for _ in range(200)]
    assert low <= min(delays) and max(delays) <= high
    assert max(delays) - min(delays) > (high - low) / 2  # jittered, not fixed


def lane(*minutes: float) -> list[Waiting]:
    return [Waiting(i + 1, T0 + m * M) for i, m in enumerate(minutes)]


@pytest.mark.parametrize(
    "minutes,expected",
    [
        ((), []),
        ((0,), [1]),
        ((0, 1, 2, 3, 4), [1]),  # 5: not more than 5
        ((0, 1, 2, 3, 4, 10), [1, 2, 3, 4, 5, 6]),  # 6 within 10 minutes of the head (inclusive)
        ((0, 1, 2, 3, 4, 11), [1]),  # the 6th is outside the window
        ((0, 1, 2, 3, 4, 5, 6, 7, 8), [1, 2, 3, 4, 5, 6, 7, 8]),  # capped at most=8
        ((0, 20, 1, 2, 3, 4, 5), [1]),  # a prefix only: order is never broken
    ],
)
def test_digest_members(minutes: tuple[float, ...], expected: list[int]) -> None:
    assert digest_members(lane(*minutes), 5, 10 * M, 8) == expected[:8]


def test_texts_in_the_recipients_language() -> None:
    link = full_link("/area/a/A1", "https://cc.example/")
    assert link == "https://cc.example/area/a/A1" and full_link("https://x/y", "https://cc") == "https://x/y"
    assert full_link(None, "https://cc") is None
    assert compose("zh", "红灯", "已超期", link, "k1") == f"红灯\n已超期\n查看：{link}\n消息编号：k1"
    assert compose("en", "Red", "Overdue", None, "k1") == "Red\nOverdue\nMessage ref: k1"
    subject, text = digest("en", "Li", [Item("A", "a", "https://l/1"), Item("B", "b", None)])
    assert subject == "2 reminders"
    assert text == "Li: 2 reminders for you:\n1. A: a\n   https://l/1\n2. B: b"


def test_chip_states() -> None:
    assert chip_state("zh", False, []) == ("通知：未开启", "notify-chip off")
    assert chip_state("en", True, []) == ("Notices: OK", "notify-chip ok")
    assert chip_state("zh", True, ["wecom", "sms"]) == ("通知故障：wecom, sms", "notify-chip failing")


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"notify_wecom_url": "http://qyapi.example/hook"}, "NOTIFY_WECOM_URL"),
        ({"notify_feishu_url": "ftp://x"}, "NOTIFY_FEISHU_URL"),
        ({"notify_sms_url": "http://gw"}, "NOTIFY_SMS_URL"),
        ({"notify_dingtalk_url": "https://oapi.example/robot"}, "NOTIFY_DINGTALK_SECRET"),
        ({"notify_sms_url": "https://gw"}, "NOTIFY_SMS_TOKEN"),
        ({"notify_smtp_host": "smtp.example"}, "NOTIFY_SMTP_FROM"),
        ({"notify_ca_file": Path("/nonexistent/ca.pem")}, "NOTIFY_CA_FILE"),
        ({"public_url": "cc.example"}, "PUBLIC_URL"),
        ({"notify_retry_base_s": 100, "notify_retry_max_s": 10}, "NOTIFY_RETRY_BASE_S"),
    ],
)
def test_bad_notification_settings_stop_start_up(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(demo=False, **overrides)


def test_a_secret_is_not_echoed_in_the_refusal() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(demo=False, notify_sms_url="https://gw", notify_dingtalk_secret="SECsecret-value")
    assert "SECsecret-value" not in str(err.value)

"""Messages to people, pure: who gets one, what it says, on which channels, when a failed one is tried again,
and when a burst to one person is folded into a digest.

A `Notice` is what a producer (the escalation ladder, a chase, a report) hands to the outbox
(`data_access.notify.outbox.queue`); the outbox keeps one delivery per channel on which its recipient can be
reached, and the sender (`data_access.notify.sender`) delivers it at least once, with the notice's `key` as
the idempotency key the receiver sees.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile

from dashboard.settings import Settings

#: Every channel, in the order they are listed on /healthz and the wall.
CHANNELS = ("wecom", "dingtalk", "feishu", "sms", "email")


@dataclass(frozen=True)
class Recipient:
    """A person a message goes to. `wecom`, `dingtalk`, `feishu`: the person's id or mobile number to @-mention
    in that group robot's message (a robot reaches its group; the mention reaches the person)."""

    name: str
    role: str
    phone: str | None
    email: str | None
    wecom: str | None
    dingtalk: str | None
    feishu: str | None
    language: str = "zh"


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (other channels carry the link only)."""

    filename: str
    content_type: str
    path: str


@dataclass(frozen=True)
class Notice:
    """One message to one recipient. `key` is unique per message (e.g. "esc:<appeal>:<step>:<unit>"): queuing the
    same key again adds nothing, and receivers get it to drop a repeat. `link` is a path under PUBLIC_URL (or a
    full URL). `district`, `street`, `grid`: the scope the message belongs to (who may read it back)."""

    key: str
    recipient: Recipient
    subject: str
    text: str
    link: str | None
    kind: str
    appeal: str | None
    district: str | None
    street: str | None
    grid: str | None
    attachments: tuple[Attachment, ...] = ()


def address(recipient: Recipient, channel: str) -> str | None:
    """Where `recipient` is reached on `channel` (None: not on that channel)."""
    value = {
        "wecom": recipient.wecom,
        "dingtalk": recipient.dingtalk,
        "feishu": recipient.feishu,
        "sms": recipient.phone,
        "email": recipient.email,
    }[channel]
    return value.strip() if value and value.strip() else None


def is_mobile(value: str) -> bool:
    """A mainland mobile number (optionally +86): robots mention it by mobile, anything else by user id."""
    digits = value[3:] if value.startswith("+86") else value
    return len(digits) == 11 and digits.isdigit() and digits.startswith("1")


def full_link(link: str | None, public_url: str) -> str | None:
    """A message's link as a full URL: a path goes under PUBLIC_URL."""
    if not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    return f"{public_url.rstrip('/')}/{link.lstrip('/')}"


def retry_delay(failures: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `failures` failed ones: exponential (base, 2 base, 4 base, ... up to
    max) with "equal jitter" (half fixed, half random), so that many deliveries failed together do not come back
    together."""
    step = float(min(max_s, base_s * 2.0 ** max(0, failures - 1)))
    jitter: float = (rng or random).random()
    return step / 2 + jitter * step / 2


@dataclass(frozen=True)
class Waiting:
    """A delivery waiting in one recipient's lane (one channel, one address), oldest first."""

    id: int
    created_at: datetime


def digest_members(lane: Sequence[Waiting], count: int, window: timedelta, most: int) -> list[int]:
    """The deliveries to send together from the head of a lane: the head alone, or, when more than `count` of
    the lane's first waiting deliveries were queued within `window` of the head, up to `most` of those as one digest.

    `lane` holds the lane's waiting deliveries oldest first; its head is the next to send (order per recipient
    and channel is kept: a digest always starts at the head)."""
    if not lane:
        return []
    head = lane[0]
    burst = [w.id for w in takewhile(lambda w: w.created_at - head.created_at <= window, lane)]
    if len(burst) > count:
        return burst[:most]
    return [head.id]


def enabled_channels(settings: Settings) -> tuple[str, ...]:
    """The channels turned on by settings (a robot or gateway by its URL, e-mail by its SMTP host)."""
    on = {
        "wecom": settings.notify_wecom_url,
        "dingtalk": settings.notify_dingtalk_url,
        "feishu": settings.notify_feishu_url,
        "sms": settings.notify_sms_url,
        "email": settings.notify_smtp_host,
    }
    return tuple(c for c in CHANNELS if on[c])

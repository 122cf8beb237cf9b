"""Topics (专题, 每月一题): what a topic is, which appeals it covers, and its half-monthly monitoring.

* A topic has a name, one or more categories (of any of the three levels), optionally areas (district,
  street or community codes) and keywords, a lead unit and a start date (not in the future).
* An appeal is **covered** when one of its three category levels is one of the topic's categories, and, if
  the topic names areas, its district, street or community is one of them, and, if it names keywords, its
  summary or address contains one of them. `covers` is the one rule: the tagger applies it to past appeals
  when a topic is defined and to new ones as they arrive, so the tags do not depend on when an appeal came.
* **Half-months** (每半月监测): the 1st–15th and the 16th–end of each month, in the city's time zone. A
  topic's series gives each half-month's volume since the start, the same half-month a year before where
  history reaches back, and the mean half-month of the six before the start ("before").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

MAX_NAME = 64
MAX_KEYWORDS = 10
MAX_KEYWORD = 20
BEFORE_HALVES = 6


class TopicError(ValueError):
    """Bad topic input: `key` is the i18n key of the message, `fmt` its fields."""

    def __init__(self, key: str, **fmt: Any) -> None:
        super().__init__(key)
        self.key = key
        self.fmt = fmt


@dataclass(frozen=True)
class TopicSpec:
    """A topic's definition (validated)."""

    name: str
    categories: tuple[str, ...]
    areas: tuple[str, ...]
    keywords: tuple[str, ...]
    lead_unit: str
    start: date


def _items(value: Any) -> list[str]:
    """A list of strings from a list or a comma/newline-separated text ("，" too)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("\n", ",").split(",")
    if not isinstance(value, list | tuple):
        raise TopicError("topic_bad_list")
    return [str(v).strip() for v in value if str(v).strip()]


def validate(
    form: Mapping[str, Any],
    categories: Iterable[str],
    areas: Iterable[str],
    units: Iterable[str],
    today: date,
) -> TopicSpec:
    """The topic a form describes, or TopicError naming what is wrong."""
    name = str(form.get("name") or "").strip()
    if not name:
        raise TopicError("topic_no_name")
    if len(name) > MAX_NAME:
        raise TopicError("topic_long_name", n=MAX_NAME)
    cats = _items(form.get("categories"))
    if not cats:
        raise TopicError("topic_no_category")
    known = set(categories)
    unknown = [c for c in cats if c not in known]
    if unknown:
        raise TopicError("topic_unknown_category", c="、".join(unknown[:3]))
    where = _items(form.get("areas"))
    places = set(areas)
    bad = [a for a in where if a not in places]
    if bad:
        raise TopicError("topic_unknown_area", a="、".join(bad[:3]))
    words = _items(form.get("keywords"))
    if len(words) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD for w in words):
        raise TopicError("topic_keywords", n=MAX_KEYWORDS, m=MAX_KEYWORD)
    unit = str(form.get("lead_unit") or "").strip()
    if unit not in set(units):
        raise TopicError("topic_unknown_unit")
    try:
        start = date.fromisoformat(str(form.get("start") or "").strip())
    except ValueError:
        raise TopicError("topic_bad_start") from None
    if start > today:
        raise TopicError("topic_future_start", d=today.isoformat())
    return TopicSpec(name, tuple(dict.fromkeys(cats)), tuple(dict.fromkeys(where)), tuple(words), unit, start)


def covers(spec: TopicSpec, appeal: Mapping[str, Any]) -> bool:
    """Whether the topic covers an appeal (keys cat1-3, district, street, community, summary, address)."""
    if not {appeal.get("cat1"), appeal.get("cat2"), appeal.get("cat3")} & set(spec.categories):
        return False
    if spec.areas and not {appeal.get("district"), appeal.get("street"), appeal.get("community")} & set(spec.areas):
        return False
    if spec.keywords:
        text = (appeal.get("summary") or "") + " " + (appeal.get("address") or "")
        return any(k in text for k in spec.keywords)
    return True


def half_of(d: date) -> date:
    """The first day of the half-month a day lies in."""
    return d.replace(day=1 if d.day <= 15 else 16)


def next_half(h: date) -> date:
    """The first day of the next half-month."""
    if h.day == 1:
        return h.replace(day=16)
    return (h.replace(day=28) + timedelta(days=4)).replace(day=1)


def halves(start: date, end: date) -> list[date]:
    """The half-months from the one holding `start` to the one holding `end`, first days."""
    out, h = [], half_of(start)
    while h <= end:
        out.append(h)
        h = next_half(h)
    return out


def year_before(h: date) -> date:
    """The same half-month a year before."""
    return h.replace(year=h.year - 1)


def series(daily: Mapping[date, int], start: date, today: date, first: date | None) -> dict[str, Any]:
    """The half-monthly monitoring of a topic from its appeals per local day (`first`: the day history begins)."""
    by: dict[date, int] = {}
    for d, n in daily.items():
        by[half_of(d)] = by.get(half_of(d), 0) + n
    hs = halves(start, today)
    before = [h for h in halves(start - timedelta(days=16 * BEFORE_HALVES), start) if h < half_of(start)]
    before = before[-BEFORE_HALVES:]
    known = [h for h in before if first is not None and h >= half_of(first)]
    base = sum(by.get(h, 0) for h in known) / len(known) if known else None
    rows = []
    for h in hs:
        ly = year_before(h)
        rows.append(
            {
                "half": h.isoformat(),
                "volume": by.get(h, 0),
                "partial": next_half(h) > today,
                "last_year": by.get(ly, 0) if first is not None and ly >= half_of(first) else None,
                "before": None if base is None else round(base, 1),
            }
        )
    since = sum(by.get(h, 0) for h in hs)
    n_before = sum(by.get(h, 0) for h in known)
    return {
        "halves": rows,
        "before_mean": None if base is None else round(base, 1),
        "before_halves": len(known),
        "since_start": since,
        "before_total": n_before,
        "change": None if base in (None, 0) or not hs else round(since / len(hs) / base - 1, 3),
    }


def worst(rows: Sequence[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """The streets a topic weighs on most: by volume, then lowest satisfaction."""
    return sorted(rows, key=lambda r: (-r["volume"], r.get("satisfaction") or 0.0, r["code"]))[:n]

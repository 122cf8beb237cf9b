"""Topics in the store: defining one, and tagging the appeals it covers (dashboard/topics.py `covers`).

The tagger tags a topic's appeals with one rule whenever they arrived: when a topic is defined, every appeal
row present is tested; afterwards a pass tests the appeals whose `created` event was logged after the topic's
position (`topics.tagged_upto`) and is folded (up to the lowest projection checkpoint), then moves the
position. A tag once written stays (an appeal is tagged at most once per topic)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, literal, or_, select, update
from sqlalchemy.orm import Session

from dashboard.topics import TopicSpec, covers
from data_access.store.bulk import chunks, dialect_insert
from data_access.store.models import Appeal, AppealEvent, Topic, TopicAppeal
from data_access.wall.history import folded_seq

log = logging.getLogger(__name__)
#: Log positions one pass reads per statement.
STEP = 200_000
_COLS = (
    Appeal.id,
    Appeal.created_at,
    Appeal.cat1,
    Appeal.cat2,
    Appeal.cat3,
    Appeal.district,
    Appeal.street,
    Appeal.community,
    Appeal.summary,
    Appeal.address,
)


def spec_of(row: Topic) -> TopicSpec:
    """The definition a stored topic holds."""
    return TopicSpec(
        row.name,
        tuple(json.loads(row.categories)),
        tuple(json.loads(row.areas)),
        tuple(json.loads(row.keywords)),
        row.lead_unit,
        row.start_date,
    )


def _category_filter(spec: TopicSpec) -> ColumnElement[bool]:
    cats = list(spec.categories)
    return or_(Appeal.cat1.in_(cats), Appeal.cat2.in_(cats), Appeal.cat3.in_(cats))


def _place_filter(spec: TopicSpec) -> list[ColumnElement[bool]]:
    """`covers`' area condition in SQL (none when the topic names no area)."""
    if not spec.areas:
        return []
    areas = list(spec.areas)
    return [or_(Appeal.district.in_(areas), Appeal.street.in_(areas), Appeal.community.in_(areas))]


def _tag(session: Session, topic: int, spec: TopicSpec, q: Any) -> int:
    """Tag the appeals of `q` (a select of _COLS) the topic covers; return how many. A topic without keywords
    is `covers`' category and area conditions alone, tested in SQL (INSERT … SELECT, nothing read back);
    keywords are tested here, row by row, with `covers` itself."""
    stmt = dialect_insert(session, TopicAppeal.__table__)
    if not spec.keywords:
        picked = q.with_only_columns(literal(topic, Integer), Appeal.id, Appeal.created_at).where(*_place_filter(spec))
        insert = stmt.from_select(["topic", "appeal", "created_at"], picked).on_conflict_do_nothing()
        added = session.execute(insert, execution_options={"preserve_rowcount": True})
        return int(getattr(added, "rowcount", 0) or 0)
    rows: Any = session.execute(q)
    hits = [
        {"topic": topic, "appeal": r.id, "created_at": r.created_at}
        for r in rows
        if covers(spec, r._mapping)  # a Row's mapping is its public dict view
    ]
    for part in chunks(hits, 2000):
        session.execute(stmt.on_conflict_do_nothing(), list(part))
    return len(hits)


def define(session: Session, spec: TopicSpec, who: str, now: datetime | None = None) -> int:
    """Store a topic and tag every appeal it covers now; its position is the folded log position read first."""
    upto = folded_seq(session)
    row = Topic(
        name=spec.name,
        categories=json.dumps(list(spec.categories), ensure_ascii=False),
        areas=json.dumps(list(spec.areas), ensure_ascii=False),
        keywords=json.dumps(list(spec.keywords), ensure_ascii=False),
        lead_unit=spec.lead_unit,
        start_date=spec.start,
        created_at=now or datetime.now(UTC),
        created_by=who[:64],
        tagged_upto=upto,
    )
    session.add(row)
    session.flush()
    _tag(session, row.id, spec, select(*_COLS).where(_category_filter(spec)))
    return row.id


def tag_pass(session: Session, step: int = STEP) -> int:
    """Tag, for every topic behind the folded log position, the appeals created after its position; return how
    many tags were added."""
    upto = folded_seq(session)
    added = 0
    for row in session.scalars(select(Topic).where(Topic.tagged_upto < upto).order_by(Topic.id)).all():
        spec = spec_of(row)
        pos = row.tagged_upto
        while pos < upto:
            nxt = min(upto, pos + step)
            q = (
                select(*_COLS)
                .join(AppealEvent, AppealEvent.appeal == Appeal.id)
                .where(AppealEvent.type == "created", AppealEvent.seq > pos, AppealEvent.seq <= nxt)
                .where(_category_filter(spec))
            )
            added += _tag(session, row.id, spec, q)
            pos = nxt
        session.execute(update(Topic).where(Topic.id == row.id, Topic.tagged_upto < pos).values(tagged_upto=pos))
    return added


def run_tagger(sessions: Callable[[], Any], stop: threading.Event, interval_s: float) -> threading.Thread:
    """Run `tag_pass` every `interval_s` in a background thread until `stop` is set."""

    def work() -> None:
        while not stop.wait(interval_s):
            try:
                with sessions() as s, s.begin():
                    n = tag_pass(s)
                if n:
                    log.info("topics: tagged %d appeals", n)
            except Exception:  # the store may be down for a while: try again next time
                log.exception("topics: the tagging pass failed; trying again in %g s", interval_s)

    thread = threading.Thread(target=work, name="topic-tagger", daemon=True)
    thread.start()
    return thread

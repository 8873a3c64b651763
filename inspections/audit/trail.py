"""``audit trail``: walk back from a fact (a breach, escalation, finding or visit id) to the
events behind it, over the inbound and derived topics. Read-only, like the replay it builds
on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel import ids
from kernel.vocabulary import HANDLED_BY
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing.kafka import Record, stream_log
from services import SYSTEM


@dataclass(frozen=True)
class Entry:
    role: str  # the fact asked for | caused it | same case
    topic: str
    partition: int
    offset: int
    time: str | None
    type: str | None
    id: str | None
    causationid: str | None
    correlationid: str | None
    # From the event's data where it has them: the ladder's level, authority, due, and a
    # breach's kind and deadline.
    level: int | None = None
    authority: str | None = None
    due: str | None = None
    kind: str | None = None
    deadline_id: str | None = None
    actor: str | None = None  # who did it, where a person did (the ``actor`` attribute)

    def line(self) -> str:
        cause = f" caused by {self.causationid}" if self.causationid else ""
        by = f" by {self.actor}" if self.actor else ""
        return (f"{self.role:<10} {self.topic}[{self.partition}]@{self.offset} {self.time} "
                f"{self.type} {self.id}{by}{cause} (case {self.correlationid})")


def _entries(settings: Settings) -> list[tuple[Record, dict | None]]:
    out = []
    for canonical in (topics.EVENTS, *topics.published(SYSTEM)):
        for record in stream_log(settings, topics.name(settings, canonical)):
            try:
                body = json.loads(record.value)
            except (ValueError, TypeError):
                body = None
            out.append((record, body if isinstance(body, dict) else None))
    return out


def _names(body: dict, ident: str) -> bool:
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    if body.get("type") in HANDLED_BY and isinstance(data.get("finding_id"), str) \
            and ident == ids.escalation_id(data["finding_id"], HANDLED_BY[body["type"]]):
        return True  # a document or measures answers the escalation that asked for it
    return ident == body.get("id") or ident in (
        data.get(k) for k in ("escalation_id", "finding_id", "visit_id", "deadline_id",
                              "subject_id"))


def trail(settings: Settings, ident: str) -> list[Entry]:
    """The events behind ``ident`` (a breach, escalation, finding or visit id): the ones that
    name it, what caused each (by ``causationid``, back to the inbound events), and every
    event of the same case (``correlationid``), in time order."""
    return trail_of(_entries(settings), ident)


def trail_of(entries: list[tuple[Record, dict | None]], ident: str) -> list[Entry]:
    """``trail`` over records already read: (record, its JSON body or None)."""
    by_id = {b["id"]: (r, b) for r, b in entries if b and "id" in b}

    def entry(role, record, body):
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        return Entry(role, record.topic, record.partition, record.offset, body.get("time"),
                     body.get("type"), body.get("id"), body.get("causationid"),
                     body.get("correlationid"), *(
                         v if isinstance(v, (str, int)) else None for v in (
                             data.get("level"), data.get("authority"), data.get("due"),
                             data.get("kind"), data.get("deadline_id"),
                             body.get("actor"))))

    chosen: dict[tuple, Entry] = {}
    targets = [(r, b) for r, b in entries if b and _names(b, ident)]
    cases = set()
    for record, body in targets:
        chosen[(record.topic, record.partition, record.offset)] = entry("named", record, body)
        cases.add(body.get("correlationid"))
        cause = body.get("causationid")
        while cause and cause in by_id:
            r, b = by_id[cause]
            chosen.setdefault((r.topic, r.partition, r.offset), entry("cause", r, b))
            cases.add(b.get("correlationid"))
            cause = b.get("causationid")
    cases.discard(None)
    for record, body in entries:
        if body and body.get("correlationid") in cases:
            chosen.setdefault((record.topic, record.partition, record.offset),
                              entry("same case", record, body))
    def when(e: Entry):
        try:
            return datetime.fromisoformat(e.time).timestamp()
        except (TypeError, ValueError):
            return float("-inf")

    return sorted(chosen.values(), key=lambda e: (when(e), e.topic, e.partition, e.offset))


def trail_json(entries: list[Entry]) -> list[dict[str, Any]]:
    return [e.__dict__ for e in entries]

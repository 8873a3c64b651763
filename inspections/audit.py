"""Audits: check every derived fact against the inbound log, and walk back from a fact to the
events behind it. Read-only, like the replay it builds on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inspections.replay import stream_log
from runtime import topics
from runtime.memory import Record
from runtime.settings import Settings

DERIVED_TOPICS = (topics.ESCALATIONS, topics.BREACHES, topics.REJECTED)


@dataclass
class TopicCheck:
    topic: str
    computed: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)     # computed, not on the topic
    extra: list[str] = field(default_factory=list)       # on the topic, not computed
    different: list[dict] = field(default_factory=list)  # same id, other content
    copies: list[str] = field(default_factory=list)      # same id, same content, twice
    kinds: dict[str, int] = field(default_factory=dict)  # on the topic: by type (and kind)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.different)


def diff(want: dict, got: dict, path: str = "") -> list[str]:
    out = []
    for key in sorted(set(want) | set(got)):
        where = f"{path}.{key}" if path else key
        a, b = want.get(key, "<absent>"), got.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff(a, b, where)
        elif a != b:
            out.append(f"{where}: expected {json.dumps(a, ensure_ascii=False)}, "
                       f"found {json.dumps(b, ensure_ascii=False)}")
    return out


def verify(settings: Settings, workers: int = 0, progress=None) -> list[TopicCheck]:
    """Recompute every derived event from the inbound log and compare it with the derived
    topics as they stream (``inspections.verify``)."""
    from inspections import verify as verifying

    if progress is None:
        return verifying.verify(settings, workers)
    return verifying.verify(settings, workers, progress)


def report_text(checks: list[TopicCheck]) -> str:
    lines = []
    for c in checks:
        state = "OK" if c.ok else "DIFFERENT"
        lines.append(f"{c.topic}: {state} — {c.computed} computed from the inbound log, "
                     f"{c.found} on the topic")
        if c.kinds:
            lines.append("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(c.kinds.items())))
        for eid in c.missing:
            lines.append(f"  missing (the rules give it, the topic lacks it): {eid}")
        for eid in c.extra:
            lines.append(f"  extra (on the topic, no rule gives it): {eid}")
        for d in c.different:
            lines.append(f"  different at {d['at']}: {d['id']}")
            lines += [f"    {change}" for change in d["changes"]]
        if c.copies:
            lines.append(f"  {len(c.copies)} same-id copies with the same content "
                         f"(at-least-once redelivery): {', '.join(sorted(set(c.copies)))}")
    verdict = "every derived event matches the rules" if all(c.ok for c in checks) else (
        "the derived topics differ from what the rules give")
    return "\n".join(lines + [verdict])


def report_json(checks: list[TopicCheck]) -> dict:
    return {"ok": all(c.ok for c in checks), "topics": [
        {"topic": c.topic, "ok": c.ok, "computed": c.computed, "found": c.found,
         "missing": c.missing, "extra": c.extra, "different": c.different,
         "copies": sorted(set(c.copies)), "kinds": dict(sorted(c.kinds.items()))}
        for c in checks]}


# -- trail -----------------------------------------------------------------------------------
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

    def line(self) -> str:
        cause = f" caused by {self.causationid}" if self.causationid else ""
        return (f"{self.role:<10} {self.topic}[{self.partition}]@{self.offset} {self.time} "
                f"{self.type} {self.id}{cause} (case {self.correlationid})")


def _entries(settings: Settings) -> list[tuple[Record, dict | None]]:
    out = []
    for canonical in (topics.EVENTS, *DERIVED_TOPICS):
        for record in stream_log(settings, topics.name(settings, canonical)):
            try:
                body = json.loads(record.value)
            except (ValueError, TypeError):
                body = None
            out.append((record, body if isinstance(body, dict) else None))
    return out


def _names(body: dict, ident: str) -> bool:
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
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
                             data.get("kind"), data.get("deadline_id"))))

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

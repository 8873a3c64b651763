"""Replay: the inbound log, and only the log, through the same cores the services run.

Read-only: a kafka-python consumer with no group assigns every partition and reads from offset
0 to the end offsets it saw at the start; it commits nothing and joins no group, so the live
services never notice it. The three services' flows run in one process: per partition in
offset order (as each service reads it), partition after partition — the campaign judgement
does not depend on how partitions interleave, and every other state is per unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.breaches import Breach
from kernel.codec import dumps
from kernel.deadlines import seen_key
from runtime import kafka, topics
from runtime.settings import Settings
from schemas import Rejection, decode
from schemas.envelope import breach_event, notice_event, rejection_event
from schemas.events import DeadlineBreached


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def stream_log(settings: Settings, topic: str,
               advance: Callable[[int], None] = lambda n: None) -> Iterator[Record]:
    """Every record of ``topic`` up to the end offsets at the start, partition after
    partition, each in offset order; read as it goes, so memory does not grow with the log."""
    from kafka import TopicPartition

    consumer = kafka.consumer(settings, client_id="inspections-replay",
                              max_partition_fetch_bytes=8 * 2**20, fetch_max_bytes=64 * 2**20)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic)
                                                          or ())]
        if not parts:
            raise RuntimeError(f"topic {topic} not found at {settings.bootstrap}")
        ends = consumer.end_offsets(parts)
        for tp in parts:
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            while consumer.position(tp) < ends[tp]:
                for batch in consumer.poll(timeout_ms=500, max_records=10_000).values():
                    kept = [Record(topic, r.partition, r.offset, r.timestamp, r.key, r.value)
                            for r in batch if r.offset < ends[tp]]
                    advance(len(kept))
                    yield from kept
    finally:
        consumer.close()


def read_log(settings: Settings, topic: str,
             advance: Callable[[int], None] = lambda n: None) -> dict[int, list[Record]]:
    """``stream_log`` gathered by partition."""
    out: dict[int, list[Record]] = {}
    for record in stream_log(settings, topic, advance):
        out.setdefault(record.partition, []).append(record)
    return out


def log_size(settings: Settings, topic: str) -> int:
    from kafka import TopicPartition

    consumer = kafka.consumer(settings, client_id="inspections-replay-size")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic)
                                                          or ())]
        begins, ends = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
        return sum(ends[tp] - begins[tp] for tp in parts)
    finally:
        consumer.close()


def cut_records(records: Iterable[Record], *, until: datetime | None = None,
                until_appended: datetime | None = None) -> Iterator[Record]:
    """The log as the services had read it at a point in time.

    ``until`` (event time): each partition up to, not including, its first record whose
    event ``time`` is after ``until`` — what the services had applied when that partition's
    stream time had reached ``until``. ``until_appended``: each partition's records that Kafka
    appended at or before that time (the record timestamp).
    """
    limit_ms = None if until_appended is None else until_appended.timestamp() * 1000
    stopped: set[int] = set()
    for record in records:
        if record.partition in stopped:
            continue
        if limit_ms is not None and record.timestamp_ms > limit_ms:
            stopped.add(record.partition)
            continue
        if until is not None:
            event = decode(record.value, key=record.key)
            if not isinstance(event, Rejection) and event.time > until:
                stopped.add(record.partition)
                continue
        yield record


def cut(log: dict[int, list[Record]], **limits) -> dict[int, list[Record]]:
    return {p: list(cut_records(records, **limits)) for p, records in log.items()}


@dataclass
class Pipeline:
    """The scheduler, findings and escalation flows over one log, in one process."""

    settings: Settings
    derived: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        from services.escalation import config as escalation_config
        from services.escalation.flow import EscalationFlow, RegisterFlow
        from services.findings import config as findings_config
        from services.findings.flow import FindingsFlow, ViewsFlow
        from services.scheduler import config as scheduler_config
        from services.scheduler.flow import CampaignFlow, UnitFlow

        policy = scheduler_config.policy(self.settings)
        self.tz = policy.timezone
        self.policy = policy
        # The views are built once, from the final states (``views``), not after each event:
        # the same view functions over the same states, so the same views.
        self.unit_flow = UnitFlow(policy, views=False)
        self.campaign_flow = CampaignFlow(policy.timezone, self.settings.partitions)
        self.findings_flow = FindingsFlow(findings_config.policy(self.settings), views=False)
        self.views_flow = ViewsFlow()
        self.escalation_flow = EscalationFlow(escalation_config.policy(self.settings),
                                              views=False)
        self.register_flow = RegisterFlow()
        self.s = {"timelines": {}, "units": {}, "seen": set(), "campaigns": {},
                  "unit_views": {}, "visits": {}}
        self.f = {"units": {}, "seen": set(), "views": {}}
        self.e = {"timelines": {}, "units": {}, "seen": set(), "register": {}}

    @staticmethod
    def _seen(ids: set, record: Record) -> Callable[[str], bool]:
        """Like the services: a duplicate is looked for among the ids of its record key."""
        place = seen_key(record.key, record.partition)

        def seen(event_id: str) -> bool:
            if (place, event_id) in ids:
                return True
            ids.add((place, event_id))
            return False
        return seen

    def feed(self, record: Record) -> None:
        from services.escalation.rules import Notice

        event = decode(record.value, key=record.key)
        if isinstance(event, Rejection):
            self.derived.append(rejection_event(
                service="scheduler", topic=record.topic, partition=record.partition,
                offset=record.offset, timestamp_ms=record.timestamp_ms, key=record.key,
                value=record.value, reason=event.reason))
            return
        s, f, e = self.s, self.f, self.e
        breaches, forwards = self.unit_flow.on_event(
            event, record.partition, s["timelines"], s["units"], self._seen(s["seen"], record))
        self._breaches(breaches, "scheduler")
        for forward in forwards:
            self._breaches(self.campaign_flow.on_forward(
                forward, s["campaigns"], s["unit_views"], s["visits"]), "scheduler")
        found, _ = self.findings_flow.on_event(event, f["units"], self._seen(f["seen"], record))
        self._breaches(found, "findings")
        derived, _ = self.escalation_flow.on_event(
            event, record.partition, e["timelines"], e["units"], self._seen(e["seen"], record))
        for item in derived:
            if isinstance(item, Notice):
                self.derived.append(notice_event(item, "escalation"))
        self._breaches([d for d in derived if isinstance(d, Breach)], "escalation")

    def _breaches(self, breaches, service: str) -> None:
        for breach in breaches:
            wire = breach_event(breach, service)
            self.derived.append(wire)
            # The findings service reads every breach back for the assessment.
            self.findings_flow.on_breach(DeadlineBreached.model_validate(wire), self.f["units"])

    def run(self, records: Iterable[Record], advance=lambda n: None) -> Pipeline:
        """Feed records read partition after partition (``stream_log``), or any order that
        keeps each partition's own."""
        for record in records:
            self.feed(record)
            advance(1)
        return self

    # -- what it computed ----------------------------------------------------------------
    def derived_by_topic(self) -> dict[str, list[dict]]:
        canonical = {"record.rejected": topics.REJECTED, "deadline.breached": topics.BREACHES,
                     "escalation.raised": topics.ESCALATIONS,
                     "escalation.escalated": topics.ESCALATIONS}
        out: dict[str, list[dict]] = {}
        for event in self.derived:
            out.setdefault(topics.name(self.settings, canonical[event["type"]]), []).append(event)
        return {t: sorted(events, key=lambda e: e["id"]) for t, events in sorted(out.items())}

    def _build_views(self) -> None:
        """What each service's view side holds after the log: every unit's, finding's and
        escalation's view from its final state, through the same view flows the services
        run (each unit's findings and escalations in the order they were made). Idempotent:
        called again after more records, it brings every view up to date."""
        from services.escalation.flow import EscalationForward
        from services.escalation.views import escalation_view
        from services.scheduler.views import unit_view

        for unit_id, state in self.s["units"].items():
            self.campaign_flow.unit_viewed(unit_id, unit_view(state, self.policy),
                                           self.s["unit_views"], self.s["visits"])
        for state in self.f["units"].values():
            for forward in self.findings_flow.forwards(state, {}):
                self.views_flow.on_forward(forward, self.f["views"])
        for state in self.e["units"].values():
            for escalation in state.escalations.values():
                self.register_flow.on_forward(EscalationForward(escalation_view(escalation)),
                                              self.e["register"])

    def views(self) -> dict[str, Any]:
        from services.findings.flow import year_assessment
        from services.scheduler.flow import campaign_view

        self._build_views()

        campaigns = {
            key.split(":", 1)[1]: campaign_view(value, self.s["unit_views"], self.tz)
            for key, value in self.s["campaigns"].items() if key.startswith("campaign:")
        }
        findings = {k.split(":", 1)[1]: v for k, v in self.f["views"].items()
                    if k.startswith("finding:")}
        years = sorted({int(y) for k, v in self.f["views"].items()
                        if k.startswith("assessment:") for y in v})
        return {
            "campaigns": {k: v for k, v in sorted(campaigns.items()) if v is not None},
            "units": dict(sorted(self.s["unit_views"].items())),
            "findings": dict(sorted(findings.items())),
            "assessments": {str(y): year_assessment(self.f["views"], y) for y in years},
            "escalations": dict(sorted(
                (k.split(":", 1)[1], v) for k, v in self.e["register"].items()
                if k.startswith("escalation:"))),
        }


def write(pipeline: Pipeline, folder: Path) -> list[Path]:
    """Every derived event (``derived/<topic>.jsonl``, by id) and every view
    (``views/<kind>/<id>.json``), canonical JSON: the same log gives the same bytes."""
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    written = []
    for topic, events in pipeline.derived_by_topic().items():
        path = folder / "derived" / f"{topic}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(dumps(e) + b"\n" for e in events))
        written.append(path)
    for kind, items in pipeline.views().items():
        where = folder / "views" / kind
        where.mkdir(parents=True, exist_ok=True)
        for name, view in items.items():
            path = where / f"{_safe(name)}.json"
            with open(path, "wb") as out:  # not Path.write_bytes: one file per view adds up
                out.write(dumps(view) + b"\n")
            written.append(path)
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.:" else "_" for c in name).replace(":", "~")

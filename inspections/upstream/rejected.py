"""Rejected records you can act on: list them, show one (its original bytes, key, place and
the gate's reason), and republish a corrected event in answer to one.

``inspections.rejected`` is append-only: nothing here deletes or rewrites it. A republished
event goes to ``inspections.events`` keyed by its subject, as the bytes of the fixed file,
with a Kafka header ``inspections-answers`` naming the rejection it answers (the event itself
is not changed, so the contract is not either). Republishing for a rejection already
answered by the same bytes sends nothing (idempotent); by different bytes it is refused.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing import kafka
from schemas import Rejection, decode

REPUBLISHED_BY = "inspections-republished-by"  # a Kafka header: who republished a fix
ANSWERS = "inspections-answers"  # the Kafka header of a republished event


@dataclass(frozen=True)
class Rejected:
    """One ``record.rejected``: its cause as the event says it, or for one written before
    rejections said their cause, worked out again by the gate from the original bytes and
    key (the cause is the metric's label)."""

    id: str
    time: datetime  # when the broker appended the original record
    topic: str
    partition: int
    offset: int
    reason: str
    cause: str
    key: bytes | None
    value: bytes | None
    value_bytes: int
    service: str

    @property
    def place(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    @classmethod
    def of(cls, event: dict) -> Rejected:
        data = event["data"]
        key = None if data["key_base64"] is None else base64.b64decode(data["key_base64"])
        value = None if data["value_base64"] is None else base64.b64decode(data["value_base64"])
        cause = data.get("cause")
        if cause is None:
            again = decode(value, key=key)
            cause = again.cause if isinstance(again, Rejection) else "accepted_now"
        return cls(event["id"], datetime.fromisoformat(data["timestamp"]), data["topic"],
                   data["partition"], data["offset"], data["reason"], cause, key, value,
                   data["value_bytes"], event["source"].rsplit(":", 1)[-1])

    def summary(self) -> dict:
        return {"id": self.id, "time": self.time.isoformat(), "place": self.place,
                "cause": self.cause, "reason": self.reason, "value_bytes": self.value_bytes,
                "key": None if self.key is None else self.key.decode("utf-8", "replace"),
                "service": self.service}

    def detail(self) -> dict:
        """Everything, the bytes as text where they are UTF-8 and as base64 always."""
        def text(raw: bytes | None) -> str | None:
            if raw is None:
                return None
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return None

        return {**self.summary(), "topic": self.topic, "partition": self.partition,
                "offset": self.offset, "value_text": text(self.value),
                "value_base64": None if self.value is None
                else base64.b64encode(self.value).decode(),
                "key_base64": None if self.key is None else base64.b64encode(self.key).decode()}


def read(settings: Settings, advance: Callable[[int], None] = lambda n: None) -> list[Rejected]:
    """Every rejection on the topic, once each (a re-emission after a crash has the same id),
    in the order the originals were appended."""
    from runtime.plumbing.kafka import stream_log

    found: dict[str, Rejected] = {}
    for record in stream_log(settings, topics.name(settings, topics.REJECTED), advance):
        try:
            item = Rejected.of(json.loads(record.value))
        except (ValueError, KeyError, TypeError):
            continue  # not a rejection this tool reads; `audit verify` reports such records
        found.setdefault(item.id, item)
    return sorted(found.values(), key=lambda r: (r.time, r.place))


def select(items: Iterable[Rejected], since: datetime | None = None,
           cause: str | None = None) -> list[Rejected]:
    return [r for r in items if (since is None or r.time >= since)
            and (cause is None or r.cause == cause)]


def find(items: Iterable[Rejected], wanted: str) -> Rejected | None:
    """By its event id, or by its place (``topic/partition/offset``)."""
    return next((r for r in items if wanted in (r.id, r.place)), None)


@dataclass(frozen=True)
class Republished:
    rejection: Rejected
    partition: int
    offset: int
    event_id: str
    already: bool  # True: the same bytes answered it before; nothing was sent


class Refused(Exception):
    """What to fix before anything is sent."""


def answers_of(settings: Settings, partition: int, rejection_id: str
               ) -> tuple[int, bytes] | None:
    """(offset, bytes) of the event that answers ``rejection_id`` on that partition of the
    inbound topic, if there is one."""
    from kafka import TopicPartition

    topic = topics.name(settings, topics.EVENTS)
    tp = TopicPartition(topic, partition)
    consumer = kafka.consumer(settings, client_id="inspections-republish")
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        while consumer.position(tp) < end:
            for batch in consumer.poll(timeout_ms=500, max_records=10_000).values():
                for r in batch:
                    if any(k == ANSWERS and v.decode() == rejection_id
                           for k, v in r.headers or ()):
                        return r.offset, r.value
        return None
    finally:
        consumer.close()


def republish(settings: Settings, rejection: Rejected, fixed: bytes,
              by: str | None = None) -> Republished:
    """Check ``fixed`` (one event, the corrected one) with the gate, then send it keyed by its
    subject with the header naming the rejection (and ``by``, who republished it: a header
    too, the event's bytes unchanged); a Refused says what is wrong first."""
    raw = fixed.strip()
    if b"\n" in raw:
        raise Refused("the fixed file holds more than one line: one corrected event answers "
                      "one rejection")
    event = decode(raw)
    if isinstance(event, Rejection):
        raise Refused(f"the corrected event is not valid either ({event.cause}): {event.reason}")
    if event.type == "clock.ticked":
        raise Refused("a clock.ticked is not republished: send one with `inspections tick`")
    if event.type == "policy.adopted":
        raise Refused("a policy.adopted is not republished: adopt the policy with "
                      "`inspections policy adopt FILE`")
    key = event.subject.encode()
    producer = kafka.producer(settings, client_id="inspections-republish")
    try:
        from inspections.upstream.publish import partitions

        partition = kafka.partition_for(key, len(partitions(settings, producer)))
        earlier = answers_of(settings, partition, rejection.id)
        if earlier is not None:
            if earlier[1] == raw:
                return Republished(rejection, partition, earlier[0], event.id, already=True)
            raise Refused(f"rejection {rejection.id} was answered already, by other bytes, at "
                          f"{topics.name(settings, topics.EVENTS)}/{partition}/{earlier[0]}; "
                          "publish a further correction with `inspections publish`")
        sent = producer.send(topics.name(settings, topics.EVENTS), value=raw, key=key,
                             partition=partition,
                             headers=[(ANSWERS, rejection.id.encode()),
                                      *([(REPUBLISHED_BY, by.encode())] if by else [])])
        meta = sent.get(timeout=settings.kafka_timeout_s)
        return Republished(rejection, meta.partition, meta.offset, event.id, already=False)
    finally:
        producer.close()

"""What an upstream system does: validate a file of events, publish it, send a clock tick.

Events are sent as the bytes that were validated (never re-serialised), keyed by their subject,
through an idempotent ``acks=all`` producer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kernel.codec import dumps
from kernel.vocabulary import BROADCAST
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing import kafka
from schemas import Envelope, Rejection, decode
from schemas.envelope import CLI_CLOCK, CLI_POLICY, policy_events, tick_events


@dataclass(frozen=True)
class Line:
    number: int
    raw: bytes
    result: Envelope | Rejection

    @property
    def ok(self) -> bool:
        return not isinstance(self.result, Rejection)


def read_lines(path: Path) -> Iterator[Line]:
    """Each non-blank line of a JSONL file, checked by the gate (no key: a file has none)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.rstrip(b"\r\n")
            if raw.strip():
                yield Line(number, raw, decode(raw))


def partitions(settings: Settings, producer) -> list[int]:
    events = topics.name(settings, topics.EVENTS)
    found = producer.partitions_for(events)
    if not found:
        raise RuntimeError(
            f"topic {events} not found at {settings.bootstrap}: run "
            "`inspections topics create` first"
        )
    return sorted(found)


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


class _Sender:
    """Sends with one producer, keeping at most ``bound`` unconfirmed sends in memory; every
    send is confirmed (or its broker error raised) by ``done``."""

    def __init__(self, producer, bound: int) -> None:
        self.producer, self.bound = producer, bound
        self.futures: list = []
        self.sent = 0

    def send(self, topic: str, value: bytes, **where) -> None:
        self.futures.append(self.producer.send(topic, value=value, **where))
        if len(self.futures) >= self.bound:
            self.settle()

    def settle(self) -> None:
        self.producer.flush()
        for future in self.futures:
            future.get(timeout=60)  # raises the broker's error, if any
        self.sent += len(self.futures)
        self.futures = []

    def done(self) -> int:
        self.settle()
        return self.sent


class Acknowledged:
    """One idempotent ``acks=all`` producer for a server that publishes what it is given (the
    operator page's actions, the HTTP ingestion), made when first needed: each send waits for
    the broker's acknowledgement; a ``clock.ticked`` or ``policy.adopted`` goes to every
    partition."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self.settings, self.client_id = settings, client_id
        self.topic = topics.name(settings, topics.EVENTS)
        self._producer = None

    def send(self, events: list[tuple[str, bytes, str | None]]) -> list[tuple[int, int]]:
        """Publish each (type, raw, key) and wait for the acknowledgements: each event's
        place (partition, offset; a tick's first partition's). The broker's error raises."""
        if self._producer is None:
            self._producer = kafka.producer(self.settings, client_id=self.client_id)
        producer, timeout = self._producer, self.settings.kafka_timeout_s
        futures = []
        for event_type, raw, key in events:
            if event_type in BROADCAST:
                futures.append([producer.send(self.topic, value=raw, partition=p)
                                for p in partitions(self.settings, producer)])
            else:
                futures.append([producer.send(self.topic, value=raw, key=key.encode())])
        producer.flush(timeout=timeout)
        places = []
        for sent in futures:
            first = [f.get(timeout=timeout) for f in sent][0]
            places.append((first.partition, first.offset))
        return places

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)


def publish(
    settings: Settings, lines: Iterable[Line], advance: Callable[[int], None] = lambda n: None
) -> int:
    """Send the valid lines (bad ones are skipped); a ``clock.ticked`` or ``policy.adopted``
    line goes to every partition. Returns the number of records sent."""
    producer = kafka.producer(settings, client_id="inspections-publish")
    try:
        parts = partitions(settings, producer)
        topic = topics.name(settings, topics.EVENTS)
        sender = _Sender(producer, bound=10_000)
        for line in lines:
            advance(1)
            if not line.ok:
                continue
            event = line.result
            if event.type in BROADCAST:
                for p in parts:
                    sender.send(topic, line.raw, partition=p)
            else:
                sender.send(topic, line.raw, key=event.subject.encode())
        return sender.done()
    finally:
        producer.close()


def tick(settings: Settings, at: datetime) -> int:
    producer = kafka.producer(settings, client_id="inspections-tick")
    try:
        topic = topics.name(settings, topics.EVENTS)
        sender = _Sender(producer, bound=10_000)
        for p, raw in tick_events(at, partitions(settings, producer)):
            sender.send(topic, raw, partition=p)
        return sender.done()
    finally:
        producer.close()


def policy(settings: Settings, data: dict, policy_digest: str, at: datetime,
           actor: str | None = None) -> int:
    """One ``policy.adopted`` to every partition (checked by the gate first); the number of
    records sent."""
    producer = kafka.producer(settings, client_id="inspections-policy")
    try:
        topic = topics.name(settings, topics.EVENTS)
        sender = _Sender(producer, bound=10_000)
        records = policy_events(data, policy_digest, at, partitions(settings, producer),
                                CLI_POLICY, actor)
        checked = decode(records[0][1])  # the same bytes on every partition
        if isinstance(checked, Rejection):
            raise ValueError(f"the policy breaks the contract: {checked.reason}")
        for p, raw in records:
            sender.send(topic, raw, partition=p)
        return sender.done()
    finally:
        producer.close()


def publish_timeline(settings: Settings, items, advance: Callable[[datetime], None],
                     source: str = CLI_CLOCK) -> int:
    """Send a scenario's (time, event) items as they come (``None``: a tick to every
    partition), each event checked by the gate first and keyed by its subject. Returns the
    number of records sent; raises on the first event the gate refuses, naming it."""
    producer = kafka.producer(settings, client_id="inspections-simulate")
    try:
        parts = partitions(settings, producer)
        topic = topics.name(settings, topics.EVENTS)
        sender = _Sender(producer, bound=1000)
        for when, event in items:
            if event is None:
                for p, raw in tick_events(when, parts, source=source):
                    sender.send(topic, raw, partition=p)
                producer.flush()  # a tick marks simulated time: let it out now
            else:
                raw = dumps(event)
                broadcast = event["type"] in BROADCAST
                key = None if broadcast else event["subject"].encode()
                checked = decode(raw, key=key)
                if isinstance(checked, Rejection):
                    raise ValueError(f"event {event['id']} ({event['type']}) breaks the "
                                     f"contract: {checked.reason}")
                for p in (parts if broadcast else (None,)):
                    sender.send(topic, raw, key=key, partition=p)
            advance(when)
        return sender.done()
    finally:
        producer.close()

"""The in-memory runner: a ``System`` over records held in memory, each service's stores
mappings in memory (``runtime.memory_runner.stores``), what one service writes to a topic that
another reads handed over as soon as the handler that wrote it has returned. Replay,
audit verify, the benchmark's cores and the tests run the services this way; the faust worker
(``runtime.faust_runner.worker``) runs the same declarations on Kafka.

Records go in per partition in offset order, as each service reads them. What crosses
partitions (a service's one-partition side, such as the scheduler's campaign side) can be
handed over as it comes (``feed``) or kept for later (``crossings``, ``cross``): the
parallel replay runs the partitions in processes of their own and the cross-partition side
after them, which the rules allow (it does not depend on how partitions interleave).

Nothing read stops it: the gate's rejections, an event dated too far ahead of its partition's
clock (``runtime.handling.partition_clock``) and an event a service's handler fails on are
rejections (``record.rejected``), the last one undone in that service and the rest going on, exactly
as the faust workers do, so that a replay derives what they derived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kernel.deadlines import Timeline
from kernel.topology import Read, Service, System
from kernel.vocabulary import PROCESSING_FAILED
from runtime.config import topics
from runtime.handling.context import Context
from runtime.handling.partition_clock import PartitionClock
from runtime.memory_runner.stores import Journal, Seen, store_for
from runtime.plumbing.kafka import Record
from schemas import Rejection, decode
from schemas.envelope import failure_reason, rejection_event


class Running:
    """One service in memory: its flow, its stores, and where its writes go. Each value is
    handled as one unit of work: what the handler emits is handed over once it returns, and
    when it raises, what it changed is undone and nothing it emitted goes anywhere (a faust
    worker does the same with a batch's staged state and outboxes)."""

    def __init__(self, service: Service, settings, handover: Callable,
                 failed: Callable[[Running, Read, Any, Exception], None]) -> None:
        self.service = service
        self.flow = service.flow(settings)
        self.journal = Journal()
        self.stores: dict[str, Any] = {}
        for s in service.stores:
            self.stores[s.name] = store_for(s, self.journal, self.stores)
        self.seen = Seen(self.journal)
        self.emitted: list[Any] = []
        self.context = Context(self.stores, self.seen, self.emitted.append)
        self.handover = handover
        self.failed = failed
        self.writes: dict[type, Any] = {}

    def write_for(self, fact: Any):
        write = self.writes.get(type(fact))
        if write is None:
            write = self.writes[type(fact)] = self.service.write_for(fact)
        return write

    def handle(self, read: Read, value: Any, partition: int, key: bytes | None,
               record: Record | None = None) -> None:
        context, journal, emitted = self.context, self.journal, self.emitted
        context.partition, context.key = partition, key
        journal.active = True  # from here what the handler changes is journalled
        try:
            read.handler(self.flow, context, value)
        except Exception as error:  # this value's own: undone, reported, the rest goes on
            journal.rollback()
            emitted.clear()
            self.failed(self, read, record, error)
            return
        journal.end()
        if emitted:
            facts = list(emitted)
            emitted.clear()
            for fact in facts:
                self.handover(self.service, self.write_for(fact), fact)

    def timelines(self) -> dict[int, Timeline]:
        return self.stores.get("timelines", {})


class Memory:
    """A ``System`` in one process.

    ``out(topic, event)`` receives each derived event bound for a public topic (the
    canonical name, the event as a dict); with ``cross=False`` the facts bound for a
    one-partition topic are kept in ``crossings`` instead of handed over (run them later
    with ``cross``)."""

    def __init__(self, system: System, settings, out: Callable[[str, dict], None],
                 cross: bool = True, public: Iterable[str] = (),
                 tap: Callable[[str, Any], None] | None = None) -> None:
        self.settings = settings
        self.out = out
        self.tap = tap  # (service, fact) for every fact emitted
        self.deliver_crossings = cross
        self.public = set(public) or set(topics.published(system))
        self.crossings: list[tuple[str, Any, str]] = []  # (topic, fact, its service)
        self.running = {s.name: Running(s, settings, self._handover, self._failed)
                        for s in system}
        # Failures of a handler on a value that crossed over (no record to reject), by
        # service: counted, as a worker counts and logs them.
        self.failures: dict[str, int] = {}
        # The gate's clock of each partition: the same for every service (one gate).
        self.clock = PartitionClock({}, settings.time_ahead_limit)
        self.system = system
        self.inbound = [(self.running[s.name], r) for s, r in system.readers(topics.EVENTS)]
        self.readers = {}
        for service in system:
            for write in service.writes:
                if write.topic is not None:
                    self.readers[write.topic] = [(self.running[s.name], r)
                                                 for s, r in system.readers(write.topic)]
        self.rejector = next((r for r in self.running.values()
                              if r.service.publishes_rejections), None)
        self.events_topic = topics.name(settings, topics.EVENTS)

    # -- inbound ---------------------------------------------------------------------------
    def feed(self, record) -> None:
        """One record of the inbound topic, through every service that reads it."""
        self.feed_decoded(record, decode(record.value, key=record.key))

    def feed_decoded(self, record, event) -> None:
        """``feed``, the record already through the gate (``event``: what it gave)."""
        if not isinstance(event, Rejection):
            event = self.clock.admit(record.partition, event.time, record.timestamp_ms,
                                     event.type) or event
        if isinstance(event, Rejection):
            if self.rejector is not None:
                self._reject(self.rejector.service.name, record, event.cause, event.reason)
            return
        for running, read in self.inbound:
            running.handle(read, event, record.partition, record.key, record)
            if running.flow.irregular.counts:  # a replay counts nothing
                running.flow.irregular.drain()

    def _reject(self, service: str, record, cause: str, reason: str) -> None:
        self.out(topics.REJECTED, rejection_event(
            service=service, topic=record.topic, partition=record.partition,
            offset=record.offset, timestamp_ms=record.timestamp_ms, key=record.key,
            value=record.value, reason=reason, cause=cause))

    def _failed(self, running: Running, read: Read, record, error: Exception) -> None:
        """A handler raised: an inbound record is rejected by that service, with the
        error's type and message; a value handed over is counted."""
        if record is not None and read.contract:
            self._reject(running.service.name, record, PROCESSING_FAILED,
                         failure_reason(running.service.name, error))
        else:
            name = running.service.name
            self.failures[name] = self.failures.get(name, 0) + 1

    def run(self, records: Iterable, advance: Callable[[int], None] = lambda n: None) -> Memory:
        for record in records:
            self.feed(record)
            advance(1)
        return self

    # -- what services write -----------------------------------------------------------
    def _handover(self, service: Service, write, fact: Any) -> None:
        # Counting and logging (``write.report``) is a worker's; a replay says nothing per fact.
        if self.tap is not None:
            self.tap(service.name, fact)
        if write.topic is None:
            return
        if write.topic in self.public:
            self.out(write.topic, write.encode(fact, service.name))
        if write.key is None and not self.deliver_crossings:
            self.crossings.append((write.topic, fact, service.name))
            return
        self.deliver(write.topic, fact, service.name)

    def deliver(self, topic: str, fact: Any, source: str) -> None:
        for running, read in self.readers.get(topic, ()):
            if read.skip_source == source:
                continue
            value = read.take(fact, source) if read.take is not None else fact
            if value is None:
                continue
            running.handle(read, value, 0, None)

    def cross(self, crossings: Iterable[tuple[str, Any, str]]) -> None:
        """Hand over facts kept from ``feed`` (``cross=False``), in the order given."""
        for topic, fact, source in crossings:
            self.deliver(topic, fact, source)

    def stores(self, service: str) -> dict[str, Any]:
        return self.running[service].stores

"""A worker's batches applied, record by record, each record a unit of work that no input can
turn into a crash.

Per record of the inbound topic: the gate (``schemas.gate``), then the partition's clock
(``runtime.handling.partition_clock``), then the flow's handler with a context over the batch's
staged stores; a record of another topic goes through its read's decoder. Whatever fails is that
record's alone:

- the gate's or the clock's refusal is a rejection (published by the service that publishes
  rejections, so once);
- a handler that raises on an accepted event: the batch is applied again from its start
  without that record (its state is only staged and nothing is sent before the commit, so
  dropping the attempt undoes everything the record changed); the record goes to
  ``inspections.rejected`` from this service with cause ``processing_failed``, is counted and
  logged, and its offset is committed with the rest. The in-memory runner undoes such a record
  in the same way (``runtime.memory_runner.memory``), so a replay derives what the workers derived;
- a record of an internal topic that cannot be read, or whose handling fails, is skipped,
  counted and logged.

What a record derives is reported (counted and logged) once it has been applied, and only
once however many times its batch was applied.
"""

from __future__ import annotations

from functools import partial
from time import monotonic
from typing import Any

from kernel.topology import Read
from kernel.vocabulary import PROCESSING_FAILED
from runtime.config import topics
from runtime.faust_runner.batching import Batch
from runtime.faust_runner.stores import StagedSeen, forget_cached_state
from runtime.faust_runner.units import StateUnreadable
from runtime.handling.context import Context
from runtime.handling.partition_clock import PartitionClock
from runtime.handling.publishing import PACK_BYTES, Outbox
from runtime.handling.reporting import report_irregular
from runtime.plumbing import logs, metrics
from runtime.plumbing.canonical import dumps  # derived events hold no floats
from schemas.envelope import failure_reason, rejection_event, service_source
from schemas.gate import Rejection, decode


class RecordFailed(Exception):
    """A handler raised on the record (or value) at ``place``: the attempt is given up."""

    def __init__(self, place: tuple, error: Exception) -> None:
        super().__init__(place, error)
        self.place, self.error = place, error


class Part:
    """One hosted service's read of the topic: its handler, what it skips, where it reports."""

    def __init__(self, host, worker, read: Read) -> None:
        self.worker, self.read, self.service = worker, read, worker.service
        self.name = worker.service.name
        self.flow = worker.flow
        self.handler = partial(read.handler, worker.flow)
        self.skip = host.skipped_sources(read)
        self.progress = worker.progress
        self.log = worker.log


class Reader:
    """One topic a host reads, with each hosted service's read of it (``Part``), applied
    batch by batch (``apply``)."""

    def __init__(self, host, reads: list[tuple[Any, Read]]) -> None:
        self.host = host
        self.parts = [Part(host, worker, read) for worker, read in reads]
        self.contract = any(read.contract for _, read in reads)
        # Who publishes the gate's rejections: one service (so, once).
        self.rejector = next((p for p in self.parts if p.service.publishes_rejections), None)
        self.clock = self.parts[0].worker.clock if self.contract else None
        # What a handler of the inbound topic emits for a topic another hosted service reads
        # partitioned goes to that service's handler too, in the batch (``runtime.faust_runner
        # .host``): by topic, that service's part.
        self.handovers: dict[str, list[Part]] = {}
        if self.contract:
            for topic in {w.topic for p in self.parts for w in p.service.writes if w.topic}:
                targets = [Part(host, worker, read) for worker, read in host.handed_over(topic)]
                if targets:
                    self.handovers[topic] = targets
        self.topic_name = topics.name(host.settings, reads[0][1].topic)
        self.batch_records = metrics.BATCH_RECORDS.labels(host.name, self.topic_name)
        self.sensor, self.stream_label = None, ""

    def counted_by(self, monitor, stream) -> None:
        """faust's sensor (``runtime.faust_runner.observe``) counts what the agent's ``stream``
        takes a batch at a time: this reader tells it, once per batch."""
        if hasattr(monitor, "batch"):
            self.sensor, self.stream_label = monitor, monitor._stream_label(stream)

    async def apply(self, batch: Batch) -> None:
        """Apply the batch and commit it; a record that fails is left out of it (see the
        module's docstring), however many there are."""
        started = monotonic()
        last = None
        if self.sensor is not None:
            last = {e.message.partition: e.message.offset for e in batch.events}
            self.sensor.taking(self.topic_name, last)
        left_out = await self.host.quiet.left_out(e.message for e in batch.events)
        failed: dict[tuple, Exception] = {}
        reported: set[tuple] = set()
        while True:
            try:
                self._attempt(batch, left_out, failed, reported)
                break
            except RecordFailed as failure:
                failed[failure.place] = failure.error
                batch.restart()
                forget_cached_state()  # what the attempt changed in place goes with it
                for part in self.parts:
                    part.flow.irregular.drain()
        await batch.commit(then=self.host.write_times)
        self.batch_records.observe(len(batch.events))
        if self.sensor is not None and batch.events:
            self.sensor.batch(self.topic_name, last, len(batch.events), self.stream_label,
                              monotonic() - started)

    # -- one attempt at the batch ----------------------------------------------------------
    def _attempt(self, batch: Batch, left_out: set, failed: dict, reported: set) -> None:
        contexts = _Contexts(self, batch)
        if self.contract:
            clock = PartitionClock(batch.stage(self.clock), self.host.settings.time_ahead_limit,
                                   named=True)
            self._inbound(batch, contexts, clock, left_out, failed, reported)
        else:
            self._internal(batch, contexts, left_out, failed, reported)

    def _inbound(self, batch: Batch, contexts: _Contexts, clock: PartitionClock,
                 left_out: set, failed: dict, reported: set) -> None:
        for message in batch.records():
            place = (message.topic, message.partition, message.offset)
            event = decode(message.value, key=message.key)
            if not isinstance(event, Rejection):
                event = clock.admit(message.partition, event.time,
                                    timestamp_ms(message), event.type) or event
            if isinstance(event, Rejection):
                if self.rejector is not None:
                    self._reject(batch, self.rejector, message, place in left_out, event.cause,
                                 event.reason, place not in reported)
                reported.add(place)
                continue
            batch.note_time(event.time)
            logs.add(event_id=event.id, type=event.type, unit=event.subject,
                     correlation_id=event.correlationid)
            quiet = place in left_out
            for part in self.parts:
                at = (part.name, *place)
                if at in failed:
                    error = failed[at]
                    self._reject(batch, part, message, quiet, PROCESSING_FAILED,
                                 failure_reason(part.name, error), at not in reported, error)
                    reported.add(at)
                    continue
                context = contexts.of(part)
                context.partition, context.key = message.partition, message.key
                context.quiet = quiet
                self._handle(part, context, event, at, reported)
                if at not in reported:
                    part.progress.processed(event.type)
                    reported.add(at)
                if self.handovers:
                    self._hand_over(part, contexts, message.partition, quiet, at, failed,
                                    reported)

    def _handle(self, part: Part, context: Context, value: Any, at: tuple,
                reported: set) -> None:
        """``value`` through ``part``'s handler; what it derived reported the first time."""
        context.reports.clear()
        try:
            part.handler(context, value)
        except StateUnreadable:
            raise  # no record could be applied: the worker stops, saying what to do
        except Exception as error:
            raise RecordFailed(at, error) from error
        if at not in reported:
            for report, fact in context.reports:
                report(fact, part.name)
            report_irregular(part.flow.irregular, part.name)
        else:
            part.flow.irregular.drain()

    def _hand_over(self, source: Part, contexts: _Contexts, partition: int, quiet: bool,
                   at: tuple, failed: dict, reported: set) -> None:
        """What ``source``'s handler just emitted for a topic another hosted service reads,
        to that service's handler, in the record's partition (as if read there)."""
        emitted = contexts.handed(source)
        if not emitted:
            return
        facts = list(emitted)
        emitted.clear()
        origin = service_source(source.name)
        for n, (topic, fact, key) in enumerate(facts):
            for target in self.handovers.get(topic, ()):
                if target.read.skip_source == source.name:
                    continue  # the target's own: applied as it derived it
                value = target.read.take(fact, origin) if target.read.take else fact
                if value is None:
                    continue
                step = (target.name, *at, n)
                context = contexts.of(target)
                context.partition, context.key, context.quiet = partition, key, quiet
                if self._value(target, context, value, step, failed, reported):
                    self._hand_over(target, contexts, partition, quiet, step, failed, reported)

    def _internal(self, batch: Batch, contexts: _Contexts, left_out: set, failed: dict,
                  reported: set) -> None:
        for message in batch.records():
            place = (message.topic, message.partition, message.offset)
            for part in self.parts:
                context = contexts.of(part)
                context.partition, context.key = message.partition, message.key
                context.quiet = place in left_out
                try:
                    values = list(part.read.decode(message.value))
                except Exception as error:  # not what the project writes there: skipped
                    if (part.name, *place) not in reported:
                        self._skipped(part, "unreadable", error)
                        reported.add((part.name, *place))
                    continue
                for n, value in enumerate(values):
                    if getattr(value, "source", None) in part.skip:
                        continue  # applied where it was derived
                    self._value(part, context, value, (part.name, *place, n), failed, reported)

    def _value(self, part: Part, context: Context, value: Any, at: tuple, failed: dict,
               reported: set) -> bool:
        """A value of an internal topic, or one handed over: skipped (counted and logged
        once) when its handling failed in an earlier attempt, else handled. Whether it was."""
        if at in failed:
            if at not in reported:
                self._skipped(part, PROCESSING_FAILED, failed[at])
                reported.add(at)
            return False
        self._handle(part, context, value, at, reported)
        reported.add(at)
        return True

    def _reject(self, batch: Batch, part: Part, message, quiet: bool, cause: str, reason: str,
                first: bool, error: Exception | None = None) -> None:
        """``record.rejected`` for a record of the inbound topic, from ``part``'s service;
        counted and logged the first time the batch meets it."""
        if not quiet:  # else the live generation rejected it
            batch.rejections(self.host.topics[topics.REJECTED]).add(message.key, dumps(
                rejection_event(service=part.name, topic=message.topic,
                                partition=message.partition, offset=message.offset,
                                timestamp_ms=timestamp_ms(message), key=message.key,
                                value=message.value, reason=reason, cause=cause)))
        if first:
            metrics.RECORDS_REJECTED.labels(cause).inc()
            if error is None:
                part.log.warning("record rejected", cause=cause, reason=reason)
            else:
                part.log.error("record rejected: its handling failed, nothing of it was kept",
                               cause=cause, error=f"{type(error).__name__}: {error}"[:500],
                               exc_info=error)

    def _skipped(self, part: Part, cause: str, error: Exception) -> None:
        metrics.RECORDS_SKIPPED.labels(part.name, self.topic_name, cause).inc()
        part.log.error("record of an internal topic skipped", topic=self.topic_name,
                       cause=cause, error=f"{type(error).__name__}: {error}"[:500])


class _Contexts:
    """One attempt's handler contexts, one per hosted service (its stores staged once in the
    batch, however many of its reads the attempt runs), and what each emits: by its type, to
    the outbox of its topic, and for a topic another hosted service reads partitioned, kept
    to be handed over (``Reader._hand_over``)."""

    def __init__(self, reader: Reader, batch: Batch) -> None:
        self.reader, self.batch = reader, batch
        self.made: dict[str, Context] = {}
        self.pending: dict[str, list] = {}
        self.outboxes: dict[str, Outbox] = {}

    def of(self, part: Part) -> Context:
        context = self.made.get(part.name)
        if context is None:
            context = self.made[part.name] = self._make(part)
        return context

    def handed(self, part: Part) -> list:
        return self.pending.setdefault(part.name, [])

    def _make(self, part: Part) -> Context:
        worker, service, batch = part.worker, part.service, self.batch
        partitioned = part.read.partitioned
        staged = {s.name: batch.stage(worker.stores[s.name]) for s in service.stores
                  if s.partitioned == partitioned and s.kind not in ("seen", "index")}
        seen = next((worker.stores[s.name] for s in service.stores if s.kind == "seen"), None)
        outboxes, topics_of = self.outboxes, self.reader.host.topics
        handed = self.handed(part) if self.reader.handovers else None
        handovers = self.reader.handovers

        def emit(fact: Any) -> None:
            write = service.write_for(fact)
            if handed is not None and write.topic in handovers:
                handed.append((write.topic, fact, write.key(fact) if write.key else None))
            if context.quiet and write.topic not in topics.INTERNAL:
                return  # the live generation published it (and reported it)
            if write.report is not None:
                context.reports.append((write.report, fact))
            if write.topic is None:
                return
            box = outboxes.get(write.topic)
            if box is None:
                box = outboxes[write.topic] = batch.outbox(
                    topics_of[write.topic], None, PACK_BYTES if write.key is None else 0)
            # Encoded here, in the record's unit of work: a fact that cannot be is the
            # record's failure, not the commit's.
            if write.key is None:
                box.add(None, write.encode(fact, service.name))
            else:
                box.add(write.key(fact), dumps(write.encode(fact, service.name)))

        context = Context(staged, StagedSeen(batch.stage(seen)) if seen is not None else None,
                          emit)
        return context


def timestamp_ms(message) -> int:
    """A record's append time in milliseconds (faust gives seconds)."""
    return int(round(message.timestamp * 1000))

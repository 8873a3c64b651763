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


class Reader:
    """One read of a worker's service (a topic and the flow's handler of it), applied batch
    by batch (``apply``)."""

    def __init__(self, worker, read: Read) -> None:
        service = worker.service
        self.worker, self.read, self.service = worker, read, service
        self.flow = worker.flow
        self.handler = partial(read.handler, worker.flow)
        self.stores = {s.name: worker.stores[s.name] for s in service.stores
                       if s.partitioned == read.partitioned and s.kind not in ("seen", "index")}
        self.seen = next((worker.stores[s.name] for s in service.stores if s.kind == "seen"),
                         None)
        self.clock = worker.clock if read.contract else None
        self.skip = service_source(read.skip_source) if read.skip_source else None
        self.topic_name = topics.name(worker.settings, read.topic)
        self.progress = worker.observer.progress
        self.log = worker.log
        self.batch_records = metrics.BATCH_RECORDS.labels(service.name, self.topic_name)
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
        left_out = await self.worker.quiet.left_out(e.message for e in batch.events)
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
                self.flow.irregular.drain()
        await batch.commit(then=self.worker.times.write)
        self.batch_records.observe(len(batch.events))
        if self.sensor is not None and batch.events:
            self.sensor.batch(self.topic_name, last, len(batch.events), self.stream_label,
                              monotonic() - started)

    # -- one attempt at the batch ----------------------------------------------------------
    def _attempt(self, batch: Batch, left_out: set, failed: dict, reported: set) -> None:
        context = self._context(batch)
        if self.read.contract:
            clock = PartitionClock(batch.stage(self.clock), self.worker.settings.time_ahead_limit,
                                   named=True)
            self._inbound(batch, context, clock, left_out, failed, reported)
        else:
            self._internal(batch, context, left_out, failed, reported)

    def _inbound(self, batch: Batch, context: Context, clock: PartitionClock,
                 left_out: set, failed: dict, reported: set) -> None:
        handler, flow, service = self.handler, self.flow, self.service.name
        for message in batch.records():
            place = (message.topic, message.partition, message.offset)
            first = place not in reported
            event = decode(message.value, key=message.key)
            if not isinstance(event, Rejection):
                event = clock.admit(message.partition, event.time,
                                    timestamp_ms(message)) or event
            if isinstance(event, Rejection):
                if self.service.publishes_rejections:
                    self._reject(batch, message, place in left_out, event.cause, event.reason,
                                 first)
                reported.add(place)
                continue
            batch.note_time(event.time)
            logs.add(event_id=event.id, type=event.type, unit=event.subject,
                     correlation_id=event.correlationid)
            if place in failed:
                error = failed[place]
                self._reject(batch, message, place in left_out, PROCESSING_FAILED,
                             failure_reason(service, error), first, error)
                reported.add(place)
                continue
            context.partition, context.key = message.partition, message.key
            context.quiet = place in left_out
            context.reports.clear()
            try:
                handler(context, event)
            except StateUnreadable:
                raise  # no record could be applied: the worker stops, saying what to do
            except Exception as error:
                raise RecordFailed(place, error) from error
            if first:
                for report, fact in context.reports:
                    report(fact, service)
                report_irregular(flow.irregular, service)
                self.progress.processed(event.type)
                reported.add(place)
            else:
                flow.irregular.drain()

    def _internal(self, batch: Batch, context: Context, left_out: set, failed: dict,
                  reported: set) -> None:
        handler, read, service = self.handler, self.read, self.service.name
        for message in batch.records():
            place = (message.topic, message.partition, message.offset)
            context.partition, context.key = message.partition, message.key
            context.quiet = place in left_out
            try:
                values = list(read.decode(message.value))
            except Exception as error:  # not what the project writes there: skipped
                if place not in reported:
                    self._skipped("unreadable", error)
                    reported.add(place)
                continue
            for n, value in enumerate(values):
                if self.skip is not None and getattr(value, "source", None) == self.skip:
                    continue  # the service's own: applied as it derived it
                at = (*place, n)
                if at in failed:
                    if at not in reported:
                        self._skipped(PROCESSING_FAILED, failed[at])
                        reported.add(at)
                    continue
                context.reports.clear()
                try:
                    handler(context, value)
                except StateUnreadable:
                    raise
                except Exception as error:
                    raise RecordFailed(at, error) from error
                if at not in reported:
                    for report, fact in context.reports:
                        report(fact, service)
                    reported.add(at)

    # -- what a batch sends ----------------------------------------------------------------
    def _context(self, batch: Batch) -> Context:
        worker, service = self.worker, self.service
        staged = {name: batch.stage(store) for name, store in self.stores.items()}
        outboxes: dict[str, Outbox] = {}

        def emit(fact: Any) -> None:
            write = service.write_for(fact)
            if context.quiet and write.topic not in topics.INTERNAL:
                return  # the live generation published it (and reported it)
            if write.report is not None:
                context.reports.append((write.report, fact))
            if write.topic is None:
                return
            box = outboxes.get(write.topic)
            if box is None:
                box = outboxes[write.topic] = batch.outbox(
                    worker.topics[write.topic], None, PACK_BYTES if write.key is None else 0)
            # Encoded here, in the record's unit of work: a fact that cannot be is the
            # record's failure, not the commit's.
            if write.key is None:
                box.add(None, write.encode(fact, service.name))
            else:
                box.add(write.key(fact), dumps(write.encode(fact, service.name)))

        context = Context(staged, StagedSeen(batch.stage(self.seen))
                          if self.seen is not None else None, emit)
        return context

    def _reject(self, batch: Batch, message, quiet: bool, cause: str, reason: str,
                first: bool, error: Exception | None = None) -> None:
        """``record.rejected`` for a record of the inbound topic, from this service; counted
        and logged the first time the batch meets it."""
        if not quiet:  # else the live generation rejected it
            batch.rejections(self.worker.topics[topics.REJECTED]).add(message.key, dumps(
                rejection_event(service=self.service.name, topic=message.topic,
                                partition=message.partition, offset=message.offset,
                                timestamp_ms=timestamp_ms(message), key=message.key,
                                value=message.value, reason=reason, cause=cause)))
        if first:
            metrics.RECORDS_REJECTED.labels(cause).inc()
            if error is None:
                self.log.warning("record rejected", cause=cause, reason=reason)
            else:
                self.log.error("record rejected: its handling failed, nothing of it was kept",
                               cause=cause, error=f"{type(error).__name__}: {error}"[:500],
                               exc_info=error)

    def _skipped(self, cause: str, error: Exception) -> None:
        metrics.RECORDS_SKIPPED.labels(self.service.name, self.topic_name, cause).inc()
        self.log.error("record of an internal topic skipped", topic=self.topic_name,
                       cause=cause, error=f"{type(error).__name__}: {error}"[:500])


def timestamp_ms(message) -> int:
    """A record's append time in milliseconds (faust gives seconds)."""
    return int(round(message.timestamp * 1000))

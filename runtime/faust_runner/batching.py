"""A worker's records in batches, each one unit of work: state staged in memory, records to
send in outboxes, and at commit everything sent and acknowledged before any state is written.

Taking a stream's records in batches of our own and filing each staged write under the record
that caused it lean on faust internals (``runtime.faust_runner.faust_internals``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from datetime import datetime
from typing import Any

from runtime.config.settings import Settings
from runtime.faust_runner import stopping, writes
from runtime.faust_runner.faust_internals import as_current, take_over
from runtime.faust_runner.observe import Progress
from runtime.faust_runner.ordering import InOrder
from runtime.handling.publishing import Outbox
from runtime.plumbing import logs


class Staged(MutableMapping):
    """Reads through to ``base``; writes wait in memory until ``flush``, each made with the
    faust event of the batch that staged it current (``batch.event``)."""

    _GONE = object()

    def __init__(self, base: MutableMapping, batch: Batch) -> None:
        self.base = base
        self.batch = batch
        self.pending: dict = {}
        self.events: dict = {}

    def __getitem__(self, key):
        value = self.pending.get(key, self._GONE) if key in self.pending else self.base[key]
        if value is self._GONE:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value) -> None:
        self.pending[key] = value
        self.events[key] = self.batch.event

    def __delitem__(self, key) -> None:
        self[key] = self._GONE

    def __contains__(self, key) -> bool:
        if key in self.pending:
            return self.pending[key] is not self._GONE
        return key in self.base

    def __iter__(self):
        return iter({*self.base, *self.pending} - {k for k, v in self.pending.items()
                                                    if v is self._GONE})

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def flush(self) -> None:
        for key, value in self.pending.items():
            with as_current(self.events[key]):
                if value is self._GONE:
                    self.base.pop(key, None)
                else:
                    self.base[key] = value
        self.pending.clear()
        self.events.clear()


class Batch:
    """The records of one ``take_events`` batch, as one unit of work.

    State is staged (``stage``) and records to send wait in outboxes (``outbox``) until
    ``commit``, which sends, waits for the broker to acknowledge every record, and then
    writes each staged key once: the state's changelog never gets ahead of what was sent, and
    a crash in between redelivers the batch, which derives the same records (same ids) again.
    The writes are whole or not at all, and none starts before the changelog records of the
    batch before are acknowledged (``runtime.faust_runner.writes``).
    The batch's offsets are acked only when the agent asks for the next one, so after
    ``commit``.
    """

    def __init__(self, events: list, progress: Progress) -> None:
        self.events = events
        self.progress = progress
        self.event = None  # the faust event being applied: staged writes are filed under it
        self._staged: list[Staged] = []
        self._outboxes: list[Outbox] = []
        self._times: dict[int, datetime] = {}  # event times of the accepted records, by index
        self._rejected: Outbox | None = None
        self.committed = False

    def stage(self, base: MutableMapping) -> Staged:
        staged = Staged(base, self)
        self._staged.append(staged)
        return staged

    def outbox(self, topic, encode: Callable[[Any], bytes] | None = None,
               pack_bytes: int = 0) -> Outbox:
        box = Outbox(topic, encode, pack_bytes)
        self._outboxes.append(box)
        return box

    def rejections(self, topic) -> Outbox:
        """The outbox of the rejected-records topic (made when first asked)."""
        if self._rejected is None:
            self._rejected = self.outbox(topic)
        return self._rejected

    def restart(self) -> None:
        """Forget everything staged and every record waiting to be sent: the batch is to be
        applied again from its first record (without one that failed)."""
        self._staged.clear()
        self._outboxes.clear()
        self._times.clear()
        self._rejected = None

    def records(self) -> Iterator[Any]:
        """Each record's message, in order, with its place bound to every log line of its
        processing and its event current for the writes it stages."""
        with logs.per_record() as bound:
            for index, event in enumerate(self.events):
                self.event = event
                message = event.message
                self._index = index
                bound.record(topic=message.topic, partition=message.partition,
                             offset=message.offset)
                # Current for the reads too: faust reads the record's partition's database.
                with as_current(event):
                    yield message

    def note_time(self, event_time: datetime) -> None:
        """The event time of the record being applied (for the event-time latency)."""
        self._times[self._index] = event_time

    async def commit(self, then: Callable[[], None] | None = None) -> None:
        """Send every outbox, wait for every acknowledgement at once, then write the state:
        a batch's state is written only after what it derived is safely on its topics.
        ``then``: what writes, once, what the staged stores' flushes gathered (each
        partition's times)."""
        pending = [future for box in self._outboxes for future in await box.send()]
        if pending:
            await asyncio.gather(*pending)
        await writes.acknowledged()  # the batches before: on their changelogs
        # A stop's watchdog never ends the process in between; a kill does, and what the
        # batch had written is put back when the worker starts again (``writes``).
        with stopping.critical, writes.whole():
            for staged in self._staged:
                staged.flush()
            if then is not None:
                then()
        self.committed = True
        for index, event in enumerate(self.events):
            self.progress.done(event.message, self._times.get(index))


async def take_batches(stream, max_records: int, linger_s: float) -> AsyncIterator[list]:
    """The stream's events in batches: from the first record, more are taken while they
    keep coming (no pause of a millisecond), up to ``max_records`` or ``linger_s``.

    Unlike faust's ``Stream.take_events``, which waits a fixed time for every batch, a lone
    record goes at once while a backlog makes full batches. Each batch's events are acked
    when the agent asks for the next batch (so after its commit), never if the body raised.
    Records come in order, none skipped (``InOrder``).
    """
    import asyncio

    waiting: list = []
    arrived, room = asyncio.Event(), asyncio.Event()
    room.set()
    loop = asyncio.get_running_loop()
    in_order = InOrder(stream.app, set(getattr(stream.channel, "topics", ())))

    async def add_to_buffer(value):
        event = stream.current_event
        if not await in_order.admits(event.message):
            return value
        waiting.append(event)
        arrived.set()
        if len(waiting) >= max_records:
            room.clear()
            await stream.wait(room)
        return value

    undo = take_over(stream, add_to_buffer)  # acked here, after the batch is done
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(arrived, timeout=1.0)
            await in_order.reseek_overdue()
            if not waiting:
                await in_order.seek_stalled()
                continue
            first = loop.time()
            while len(waiting) < max_records and loop.time() - first < linger_s:
                size = len(waiting)
                await asyncio.sleep(0.001)
                if len(waiting) == size:
                    break
            taken = waiting[:max_records]
            del waiting[:len(taken)]
            if not waiting:
                arrived.clear()
            room.set()
            yield taken
            for event in taken:
                await stream.ack(event)
    finally:
        undo()


async def batches(stream, settings: Settings, progress: Progress) -> AsyncIterator[Batch]:
    """The agent's records in batches (``take_batches``). The body must ``commit`` each."""
    async for events in take_batches(stream, settings.batch_max_records,
                                     settings.batch_linger_ms / 1000):
        batch = Batch(events, progress)
        yield batch
        if not batch.committed:
            raise RuntimeError("a batch was left without commit(): its state would be lost")

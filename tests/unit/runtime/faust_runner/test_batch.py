"""A batch as one unit of work: each key written once, under the event that caused it;
every record sent and acknowledged before any state is written; packed internal records."""

from __future__ import annotations

import asyncio

import pytest

from runtime.faust_runner.batching import Batch
from runtime.faust_runner.observe import Progress
from runtime.faust_runner.stores import Seen, StagedSeen, Values
from runtime.handling.context import Context
from runtime.handling.publishing import Outbox
from tests.unit.fake_faust import Event, FakeApp, Message
from tests.unit.support import Table


class Topic:
    """A faust topic as an outbox uses it: its name and the app's producer, whose ``send``
    gives a future of the broker's answer (here answered at once)."""

    def __init__(self, log: list):
        self.log = log
        self.app = self
        self.producer = self

    def get_topic_name(self) -> str:
        return "inspections.escalations"

    async def send(self, topic, key, value, partition, timestamp, headers):
        self.log.append(("sent", key, value))
        answered = asyncio.get_running_loop().create_future()
        answered.set_result(None)
        return answered


EVENTS = [Event(Message(b"changtai", 3, 10)), Event(Message(b"pinghe", 5, 7)),
          Event(Message(b"changtai", 3, 11))]


def test_each_key_is_written_once_under_the_partition_of_the_event_that_wrote_it():
    table = Table()
    units = Values(table, "units", int)
    batch = Batch(EVENTS, Progress("scheduler"))
    staged = batch.stage(units)
    for message in batch.records():
        unit = message.key.decode()
        staged[unit] = staged.get(unit, 0) + 1
    assert table.writes == []  # nothing before the commit
    asyncio.run(batch.commit())
    assert sorted(table.writes) == [(b"units\x1fchangtai", 3), (b"units\x1fpinghe", 5)]
    assert units["changtai"] == 2 and units["pinghe"] == 1


def test_records_are_sent_before_any_state_is_written_and_progress_follows_the_commit():
    log: list = []

    class Noting(Table):
        def __setitem__(self, key, value):
            log.append(("written", key))
            super().__setitem__(key, value)

    table = Noting()
    progress = Progress("scheduler")
    batch = Batch(EVENTS, progress)
    staged, out = batch.stage(Values(table, "units", int)), batch.outbox(Topic(log))
    for message in batch.records():
        staged[message.key.decode()] = message.offset
        out.add(message.key, b"derived")
    assert progress.next_offset == {}
    asyncio.run(batch.commit())
    assert [entry[0] for entry in log] == ["sent"] * 3 + ["written"] * 2
    assert progress.next_offset == {("inspections.events", 3): 12, ("inspections.events", 5): 8}


def test_packed_records_carry_a_keys_run_of_values_in_order_within_the_size():
    from datetime import datetime, timezone

    from services.scheduler.app import CROSSINGS as FORWARDS
    from services.scheduler.campaign import Mark
    from services.scheduler.flow import WatermarkForward

    forwards = [WatermarkForward(n % 3, Mark(datetime(2026, 4, 1 + n, tzinfo=timezone.utc),
                                             f"tick-{n}")) for n in range(20)]
    one = len(FORWARDS.encode(forwards[0]))
    log: list = []
    out = Outbox(Topic(log), FORWARDS.encode, pack_bytes=8 * (one + 1))
    for forward in forwards[:12]:
        out.add(b"progress", forward)
    out.add(b"other", forwards[12])  # another key: a run of its own
    for forward in forwards[13:]:
        out.add(b"progress", forward)
    asyncio.run(out.send())
    assert [key for _, key, _ in log] == [b"progress", b"progress", b"other", b"progress"]
    unpacked = [FORWARDS.unpack(value) for _, _, value in log]
    assert [len(values) for values in unpacked] == [8, 4, 1, 7]  # at most 8 fit the size
    assert [f for values in unpacked for f in values] == forwards
    # One value larger than the size goes alone; a record of one value (unpacked) reads too.
    out = Outbox(Topic(log := []), FORWARDS.encode, pack_bytes=10)
    out.add(b"progress", forwards[0])
    out.add(b"progress", forwards[1])
    asyncio.run(out.send())
    assert [FORWARDS.unpack(value) for _, _, value in log] == [[forwards[0]], [forwards[1]]]
    assert FORWARDS.unpack(FORWARDS.encode(forwards[2])) == [forwards[2]]


def _seen_in(batch: Batch, ids: Seen):
    """What a handler's ``seen`` is, for each record of ``batch``: (message, seen)."""
    context = Context({}, StagedSeen(batch.stage(ids)), lambda fact: None)
    for message in batch.records():
        context.partition, context.key = message.partition, message.key
        yield message, context.seen


def test_seen_ids_are_kept_per_record_key_and_a_repeat_is_caught_in_and_across_batches():
    table = Table()
    ids = Seen(table, "seen")
    tick = Event(Message(None, 2, 4))
    batch = Batch([*EVENTS, tick], Progress("findings"))
    answers = [seen(f"e-{m.offset}") for m, seen in _seen_in(batch, ids)]
    assert answers == [False, False, False, False]
    assert table.writes == []  # nothing before the commit
    asyncio.run(batch.commit())
    assert sorted(k for k, _ in table.writes) == [
        b"seen\x1fkey:changtai\x1f000000", b"seen\x1fkey:pinghe\x1f000000",
        b"seen\x1fpartition:2\x1f000000"]
    again = Batch([EVENTS[0], EVENTS[0]], Progress("findings"))
    # As after a restart: read back from the table.
    assert [seen("e-10") for _, seen in _seen_in(again, Seen(table, "seen"))] == [True, True]
    other = Batch([Event(Message(b"pinghe", 5, 8))], Progress("findings"))
    assert [seen("e-10") for _, seen in _seen_in(other, ids)] == [False]  # another unit's


def test_seen_ids_are_written_a_chunk_at_a_time():
    table = Table()
    ids = Seen(table, "seen")
    ids.CHUNK = 4
    for n in range(3):  # 3 batches of 3 new ids for one unit: 9 ids, chunks of 4
        batch = Batch([Event(Message(b"changtai", 3, 10 * n + i)) for i in range(3)],
                      Progress("findings"))
        assert [seen(f"e-{m.offset}") for m, seen in _seen_in(batch, ids)] == [False] * 3
        table.writes.clear()
        asyncio.run(batch.commit())
        assert [k[-1] for k, _ in table.writes] == [[48], [48, 49], [49, 50]][n]
    fresh = Seen(table, "seen")
    fresh.CHUNK = 4
    assert len(fresh["key:changtai"].order) == 9


def test_the_decoded_cache_keeps_only_the_most_recently_used_entries():
    table = Table()
    view = Values(table, "units", int, cache_entries=2)
    batch = Batch([EVENTS[0]], Progress("scheduler"))
    staged = batch.stage(view)
    for _ in batch.records():
        for unit in ("a", "b", "c"):
            staged[unit] = 1
    asyncio.run(batch.commit())
    assert list(view.cache) == ["b", "c"]
    assert view["a"] == 1  # read back from the table
    assert list(view.cache) == ["c", "a"]


def _agent(stream, body):
    from runtime.config.settings import Settings
    from runtime.faust_runner.batching import batches

    async def run():
        async for batch in batches(stream, Settings(), Progress("scheduler")):
            await body(batch)
            if len(stream.acked) + len(batch.events) >= len(stream.events):
                stream.should_stop = True

    asyncio.run(run())


def test_a_batch_is_acked_only_once_the_agent_asks_for_the_next():
    stream = FakeStream(EVENTS)
    acked_during: list = []

    async def body(batch):
        acked_during.append(len(stream.acked))
        await batch.commit()

    _agent(stream, body)
    assert acked_during[0] == 0 and stream.acked == EVENTS


def test_a_batch_whose_body_raised_is_not_acked():
    stream = FakeStream(EVENTS)

    async def body(batch):
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        _agent(stream, body)
    assert stream.acked == []


def test_a_batch_left_without_commit_stops_the_agent():
    stream = FakeStream(EVENTS)

    async def body(batch):
        pass  # forgot batch.commit()

    with pytest.raises(RuntimeError, match="without commit"):
        _agent(stream, body)
    assert stream.acked == []


class FakeStream:
    """Just enough of a faust stream for ``take_batches``: its events arrive through the
    processors, and acks are noted."""

    def __init__(self, events):
        self.events = list(events)
        self.enable_acks = True
        self.should_stop = False
        self._processors = []
        self.acked = []
        self.current_event = None
        self.channel = self
        # Each partition's records start at its first event's offset (as if committed there).
        self.app = FakeApp({(e.message.topic, e.message.partition): e.message.offset
                            for e in reversed(self.events)})

    def __aiter__(self):
        return self

    async def __anext__(self):
        raise StopAsyncIteration

    def add_processor(self, fn):
        self._processors.append(fn)

    def _enable_passive(self, channel):
        async def drain():
            for event in self.events:
                self.current_event = event
                for fn in self._processors:
                    await fn(event)
        self.drainer = asyncio.get_running_loop().create_task(drain())

    async def wait(self, event):
        await event.wait()

    async def wait_for_stopped(self, event, timeout):
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def ack(self, event):
        self.acked.append(event)


def test_state_is_written_only_after_the_broker_has_every_derived_record():
    log: list = []

    class Slow(Topic):
        async def send(self, topic, key, value, partition, timestamp, headers):
            answered = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(
                0.01, lambda: (log.append(("acked", value)), answered.set_result(None)))
            return answered

    class Noting(Table):
        def __setitem__(self, key, value):
            log.append(("written", key))
            super().__setitem__(key, value)

    batch = Batch(EVENTS[:1], Progress("escalation"))
    staged, out = batch.stage(Values(Noting(), "units", int)), batch.outbox(Slow(log))
    for message in batch.records():
        staged["changtai"] = 1
        out.add(message.key, b"escalation.raised")
    asyncio.run(batch.commit())
    assert log == [("acked", b"escalation.raised"), ("written", b"units\x1fchangtai")]


def test_every_outbox_is_sent_before_any_acknowledgement_is_awaited():
    log: list = []

    class Answering(Topic):
        async def send(self, topic, key, value, partition, timestamp, headers):
            log.append(("sent", value))
            answered = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(
                0.01, lambda: (log.append(("acked", value)), answered.set_result(None)))
            return answered

    batch = Batch(EVENTS[:1], Progress("escalation"))
    breaches, notices = batch.outbox(Answering(log)), batch.outbox(Answering(log))
    for message in batch.records():
        breaches.add(message.key, b"breach")
        notices.add(message.key, b"notice")
    asyncio.run(batch.commit())
    assert log == [("sent", b"breach"), ("sent", b"notice"),
                   ("acked", b"breach"), ("acked", b"notice")]


def test_a_send_the_broker_refuses_fails_the_batch_before_any_state_is_written():
    class Refusing(Topic):
        async def send(self, topic, key, value, partition, timestamp, headers):
            answered = asyncio.get_running_loop().create_future()
            answered.set_exception(RuntimeError("MessageSizeTooLarge"))
            return answered

    table = Table()
    batch = Batch(EVENTS[:1], Progress("escalation"))
    staged, out = batch.stage(Values(table, "units", int)), batch.outbox(Refusing([]))
    for message in batch.records():
        staged["changtai"] = 1
        out.add(message.key, b"too big")
    with pytest.raises(RuntimeError, match="MessageSizeTooLarge"):
        asyncio.run(batch.commit())
    assert table.writes == [] and not batch.committed

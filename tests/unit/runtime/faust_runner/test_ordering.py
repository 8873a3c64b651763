"""Each partition's records in offset order, none skipped
(``runtime.faust_runner.ordering.InOrder``), and faust committing no record past those processed."""

from __future__ import annotations

import asyncio

from faust.types import TP

from runtime.faust_runner.ordering import InOrder
from tests.unit.fake_faust import FakeApp, Message


def _admitted(in_order, offsets, partition=0, topic="inspections.events"):
    return [o for o in offsets
            if asyncio.run(in_order.admits(Message(None, partition, o, topic=topic)))]


def test_records_in_order_are_all_taken():
    in_order = InOrder(FakeApp({("inspections.events", 0): 10}))
    assert _admitted(in_order, [10, 11, 12, 13]) == [10, 11, 12, 13]
    assert in_order.app.consumer.seeks == []


def test_records_skipped_after_the_committed_offset_are_fetched_again_in_order():
    app = FakeApp({("inspections.events", 0): 164})
    in_order = InOrder(app)
    # The consumer's first records start past the committed offset: seek back once, drop
    # what was fetched before the seek, then take the records again from 164.
    assert _admitted(in_order, [166, 167, 168]) == []
    assert app.consumer.seeks == [(("inspections.events", 0), 164)]
    assert _admitted(in_order, [164, 165, 166, 167, 168, 169]) == [164, 165, 166, 167, 168, 169]
    assert _admitted(in_order, [167, 170]) == [170]  # a copy of one taken is dropped
    assert len(app.consumer.seeks) == 1


def test_offsets_without_records_are_passed_after_one_seek():
    app = FakeApp({("inspections.events", 0): 20})
    in_order = InOrder(app)
    assert _admitted(in_order, [20, 21]) == [20, 21]
    assert _admitted(in_order, [24, 25]) == []  # 22, 23: a transaction's marker, say
    assert _admitted(in_order, [24, 25, 26]) == [24, 25, 26]  # the same after the seek
    assert app.consumer.seeks == [(("inspections.events", 0), 22)]


def test_a_seek_that_brings_nothing_back_is_made_again_after_a_while(monkeypatch):
    import time

    app = FakeApp({("inspections.events", 0): 7})
    in_order = InOrder(app)
    assert _admitted(in_order, [9, 10]) == []  # the partition's last records: none follow
    assert len(app.consumer.seeks) == 1
    asyncio.run(in_order.reseek_overdue())
    assert len(app.consumer.seeks) == 1  # not yet
    later = time.monotonic() + InOrder.RESEEK_S + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    asyncio.run(in_order.reseek_overdue())
    assert app.consumer.seeks == [(("inspections.events", 0), 7)] * 2
    assert _admitted(in_order, [7, 8, 9, 10]) == [7, 8, 9, 10]
    asyncio.run(in_order.reseek_overdue())
    assert len(app.consumer.seeks) == 2  # found: no more seeks


def test_no_seek_is_made_again_for_an_older_generation(monkeypatch):
    import time

    app = FakeApp({("inspections.events", 0): 7})
    in_order = InOrder(app)
    assert _admitted(in_order, [9]) == []
    app.consumer_generation_id = 2  # faust seeks to the committed offsets itself
    later = time.monotonic() + InOrder.RESEEK_S + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    asyncio.run(in_order.reseek_overdue())
    assert len(app.consumer.seeks) == 1


def test_faust_commits_no_record_past_those_processed_after_a_seek():
    tp = ("inspections.events", 0)
    app = FakeApp({tp: 232})
    in_order = InOrder(app)
    assert _admitted(in_order, [233]) == []  # 232 skipped: seek back to it
    # Records fetched before the seek jump past faust's read offset (232 after the seek):
    # faust notes 233..300 as a gap it will count as acked.
    app.consumer._gap[TP(*tp)].addi(233, 301)
    assert _admitted(in_order, [300]) == []
    assert _admitted(in_order, [232, 233, 234]) == [232, 233, 234]
    # 232..234 processed and acked; 235.. not yet: faust must not commit past 235.
    assert app.consumer.next_commit(tp, [232, 233, 234]) == 235


def test_offsets_found_without_records_are_committed_once_the_record_after_is():
    tp = ("inspections.events", 0)
    app = FakeApp({tp: 20})
    in_order = InOrder(app)
    assert _admitted(in_order, [20, 21, 24]) == [20, 21]
    assert _admitted(in_order, [24, 25]) == [24, 25]  # after the seek: 22, 23 hold none
    assert app.consumer.next_commit(tp, [20, 21]) == 22
    assert app.consumer.next_commit(tp, [24]) == 25
    assert app.consumer.next_commit(tp, [25]) == 26


def test_a_new_generation_starts_again_from_the_committed_offset():
    app = FakeApp({("inspections.events", 0): 5})
    in_order = InOrder(app)
    assert _admitted(in_order, [5, 6, 7]) == [5, 6, 7]
    app.consumer_generation_id = 2  # a rebalance: redelivered from the committed offset
    assert _admitted(in_order, [5, 6, 7, 8]) == [5, 6, 7, 8]
    assert _admitted(in_order, [3], partition=1) == [3]  # never committed: from the first


def test_a_partition_left_with_records_past_the_next_offset_is_sought_when_all_is_quiet(
        monkeypatch):
    """faust's race can drop a partition's last records with none after them to show the
    gap: once the stream has taken nothing for a while, a partition whose end is past its
    next expected offset is sought back there; a partition at its end is left alone."""
    app = FakeApp(committed={("inspections.events", 0): 5, ("inspections.events", 1): 3},
                  owned=[("inspections.events", 0), ("inspections.events", 1),
                         ("inspections.other", 0)])
    app.consumer.ends = {TP("inspections.events", 0): 9, TP("inspections.events", 1): 3,
                         TP("inspections.other", 0): 7}
    clock = [1000.0]
    monkeypatch.setattr("runtime.faust_runner.ordering.time.monotonic", lambda: clock[0])
    in_order = InOrder(app, {"inspections.events"})
    assert _admitted(in_order, [5, 6]) == [5, 6]  # partition 0 took 5 and 6, then nothing
    asyncio.run(in_order.seek_stalled())
    assert app.consumer.seeks == []  # not quiet long enough
    clock[0] += InOrder.IDLE_S + 1
    asyncio.run(in_order.seek_stalled())
    assert app.consumer.seeks == [(TP("inspections.events", 0), 7)]  # not partition 1's end
    # The records come again: 7 is taken, as is 8 after it.
    assert _admitted(in_order, [7, 8]) == [7, 8]


def test_after_a_rebalance_that_brought_no_record_a_stalled_partition_is_sought(monkeypatch):
    """The rebalance left a partition with a record the stream never got and none after
    it: once quiet, it is sought back to the group's committed offset, or to its first
    record where the group never committed."""
    app = FakeApp(committed={("inspections.breaches", 0): 3},
                  owned=[("inspections.breaches", 0), ("inspections.breaches", 1)])
    app.consumer.ends = {TP("inspections.breaches", 0): 5, TP("inspections.breaches", 1): 1}
    clock = [1000.0]
    monkeypatch.setattr("runtime.faust_runner.ordering.time.monotonic", lambda: clock[0])
    in_order = InOrder(app, {"inspections.breaches"})
    assert _admitted(in_order, [3], topic="inspections.breaches") == [3]  # generation 1
    app.consumer_generation_id = 2  # a rebalance; nothing comes after it
    app.consumer._committed_offset[TP("inspections.breaches", 0)] = 4  # as faust sought
    clock[0] += InOrder.IDLE_S + 1
    app.rebalancing = True
    asyncio.run(in_order.seek_stalled())
    assert app.consumer.seeks == []  # faust seeks itself while it rebalances
    app.rebalancing = False
    clock[0] += InOrder.IDLE_S + 1
    asyncio.run(in_order.seek_stalled())
    # Partition 1 was never committed (its worker killed before a commit, faust #629 left it
    # unfetched): sought back to its first record, where faust's own seek had put it.
    assert sorted(app.consumer.seeks) == [(TP("inspections.breaches", 0), 4),
                                          (TP("inspections.breaches", 1), 0)]
    assert _admitted(in_order, [4], topic="inspections.breaches") == [4]
    assert _admitted(in_order, [0], topic="inspections.breaches", partition=1) == [0]


def test_a_quiet_stream_at_the_end_of_every_partition_seeks_nothing(monkeypatch):
    app = FakeApp(committed={("inspections.breaches", 0): 5},
                  owned=[("inspections.breaches", 0), ("inspections.breaches", 1)])
    app.consumer.ends = {TP("inspections.breaches", 0): 5, TP("inspections.breaches", 1): 0}
    clock = [1000.0]
    monkeypatch.setattr("runtime.faust_runner.ordering.time.monotonic", lambda: clock[0])
    in_order = InOrder(app, {"inspections.breaches"})
    app.consumer_generation_id = 2
    clock[0] += InOrder.IDLE_S + 1
    asyncio.run(in_order.seek_stalled())
    assert app.consumer.seeks == []

"""Just enough of faust's messages, events, consumer and app for the runtime's unit tests
(what ``runtime.faust_runner.batching`` and ``runtime.faust_runner.ordering`` touch, and faust's own
``_new_offset``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace

from faust.types import TP
from intervaltree import IntervalTree


@dataclass
class Message:
    key: bytes | None
    partition: int
    offset: int
    value: bytes = b""
    topic: str = "inspections.events"
    timestamp: float = 1_700_000_000.0

    @property
    def tp(self):
        return TP(self.topic, self.partition)


@dataclass
class Event:
    message: Message


class FakeConsumer:
    """The parts of faust's consumer ``InOrder`` and faust's ``_new_offset`` use."""

    def __init__(self, committed=None):
        self._committed_offset = defaultdict(
            lambda: None, {TP(*tp): o for tp, o in (committed or {}).items()})
        self._gap = defaultdict(IntervalTree)
        self._acked = defaultdict(list)
        self._acked_index = defaultdict(set)
        self.seeks: list = []

    def next_commit(self, tp, acked):
        """The offset faust would commit once ``acked`` are acked (None: none)."""
        from faust.transport.consumer import Consumer

        tp = TP(*tp)
        self._acked[tp].extend(acked)
        self._acked_index[tp].update(acked)
        offset = Consumer._new_offset(self, tp)
        if offset is not None:
            self._committed_offset[tp] = offset  # as faust's commit does
        return offset

    async def seek_wait(self, partitions):
        self.seeks.extend(partitions.items())

    def highwater(self, tp):
        return self.ends.get(tp)

    async def earliest_offsets(self, *tps):
        return {tp: 0 for tp in tps}


class FakeApp:
    def __init__(self, committed=None, owned=()):
        self.consumer_generation_id = 1
        self.consumer = FakeConsumer(committed)
        self.consumer.ends = {}
        self.rebalancing = self.in_recovery = False
        self.assignor = SimpleNamespace(assigned_actives=lambda: {TP(*tp) for tp in owned})

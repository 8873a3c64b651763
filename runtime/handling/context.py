"""What a flow's handler gets with each record (``kernel.topology.Context``), from either
runner: the record's partition and key, the service's stores by name, ``seen(event_id)`` and
``emit(fact)``. One per service (the in-memory runner) or per batch (a faust worker), moved
from record to record.

``seen_ids`` is where the runner keeps the event ids already processed; whatever it is, it
answers ``check(record_key, partition, event_id)``: whether the id was seen among its
record's key's (``kernel.ids.seen_key``), marking it seen if not; and ``shown(record_key,
partition, event_id)``: the key's state shows that id, which need not be written
(``runtime.memory_runner.stores.Seen`` in memory, ``runtime.faust_runner.stores.StagedSeen``
over a worker's batch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Context:
    """``quiet``: the record's public records left out (a generation catching up);
    ``reports``: what a record derived, reported once it has been applied (a worker's)."""

    __slots__ = ("partition", "key", "stores", "seen_ids", "emit", "quiet", "reports")

    def __init__(self, stores: dict, seen_ids, emit: Callable[[Any], None]) -> None:
        self.partition = 0
        self.key: bytes | None = None
        self.stores = stores
        self.seen_ids = seen_ids
        self.emit = emit
        self.quiet = False
        self.reports: list[tuple[Callable, Any]] = []

    def store(self, name: str):
        return self.stores[name]

    def seen(self, event_id: str) -> bool:
        return self.seen_ids.check(self.key, self.partition, event_id)

    def shown(self, event_id: str) -> None:
        """The record's key's state now shows this event (``kernel.deadlines.process``)."""
        self.seen_ids.shown(self.key, self.partition, event_id)

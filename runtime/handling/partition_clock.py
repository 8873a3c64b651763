"""Each partition's clock at the gate: the newest event time the partition has accepted. An
event dated too far ahead of it (``schemas.gate.too_far_ahead``) is refused before any service
sees it, so that one mistyped year cannot move the partition's stream time and breach every
unit on it. Every service keeps the same clock (each reads every record of the partition,
through the same gate), so they all refuse the same records, and so does a replay.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone

from kernel.vocabulary import NOT_BACKDATED
from schemas.gate import Rejection, backdated, too_far_ahead


class PartitionClock:
    """Over ``times`` (partition -> newest accepted time: a dict in memory, a worker's staged
    store, whose names are strings)."""

    __slots__ = ("times", "limit", "named")

    def __init__(self, times: MutableMapping, limit: timedelta, named: bool = False) -> None:
        self.times = times
        self.limit = limit
        self.named = named  # keys as text (a table store's names)

    def admit(self, partition: int, event_time: datetime, timestamp_ms: int,
              event_type: str | None = None) -> Rejection | None:
        """None, the partition's clock moved to ``event_time`` (when later); or why not (an
        event of a type in ``NOT_BACKDATED`` is refused when dated before the newest time)."""
        name = str(partition) if self.named else partition
        newest = self.times.get(name)
        if newest is not None and event_time <= newest:
            if event_time < newest and event_type in NOT_BACKDATED:
                return backdated(event_type, event_time, newest)
            return None  # the usual case: nothing to check, nothing to move
        if newest is None or event_time - newest > self.limit:  # else in time, whatever else
            refused = too_far_ahead(event_time, newest, appended(timestamp_ms), self.limit)
            if refused is not None:
                return refused
        self.times[name] = event_time
        return None


def appended(timestamp_ms: int) -> datetime:
    """A record's append time (the broker's: the inbound topic keeps LogAppendTime)."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)

"""Reading ``inspections.events`` in a worker: every record through the one gate.

The scheduler passes ``on_rejected`` and stages each rejection to publish; the other services
read the same way without it, and so skip a bad record without a second copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from runtime.batching import Batch
from runtime.logs import bound
from runtime.observe import Progress
from schemas import Envelope, Rejection, decode

OnRejected = Callable[[Any, Rejection], None]


def accepted(batch: Batch, progress: Progress,
             on_rejected: OnRejected | None = None) -> Iterator[tuple[Any, Envelope]]:
    """(message, event) for each record of the batch that passes the gate, in partition
    order. Every log line of an event's processing carries its id, type, unit, correlation
    id and place."""
    for message in batch.records():
        decoded = decode(message.value, key=message.key)
        if isinstance(decoded, Rejection):
            if on_rejected is not None:
                on_rejected(message, decoded)
            continue
        batch.note_time(decoded.time)
        with bound(event_id=decoded.id, type=decoded.type, unit=decoded.subject,
                   correlation_id=decoded.correlationid):
            yield message, decoded
        progress.processed(decoded.type)

"""Reading ``inspections.events`` in a worker: every record through the one gate.

The scheduler passes ``on_rejected`` and publishes each rejection; the other services read
the same way without it, and so skip a bad record without a second copy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from inspections import logs, metrics
from schemas import Envelope, Rejection, decode

OnRejected = Callable[[Any, Rejection], Awaitable[None]]


async def accepted(
    stream, service: str, on_rejected: OnRejected | None = None
) -> AsyncIterator[tuple[Any, Envelope]]:
    """(message, event) for each record that passes the gate, in partition order."""
    log = logs.get("inspections.intake")
    async for item in stream.events():
        message = item.message
        decoded = decode(message.value, key=message.key)
        if isinstance(decoded, Rejection):
            if on_rejected is not None:
                await on_rejected(message, decoded)
            continue
        metrics.EVENTS_ACCEPTED.labels(service, decoded.type).inc()
        log.debug(
            "event accepted", event_id=decoded.id, type=decoded.type, unit=decoded.subject,
            correlation_id=decoded.correlationid, partition=message.partition,
            offset=message.offset,
        )
        yield message, decoded

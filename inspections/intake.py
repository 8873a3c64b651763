"""Reading ``inspections.events`` in a worker: every record through the one gate.

The scheduler passes ``on_rejected`` and publishes each rejection; the other services read
the same way without it, and so skip a bad record without a second copy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog

from inspections.observe import Progress
from schemas import Envelope, Rejection, decode

OnRejected = Callable[[Any, Rejection], Awaitable[None]]


async def accepted(
    stream, progress: Progress, on_rejected: OnRejected | None = None
) -> AsyncIterator[tuple[Any, Envelope]]:
    """(message, event) for each record that passes the gate, in partition order. Every log
    line of an event's processing carries its id, type, unit, correlation id and place."""
    bind = structlog.contextvars.bound_contextvars
    async for item in stream.events():
        message = item.message
        with bind(topic=message.topic, partition=message.partition, offset=message.offset):
            decoded = decode(message.value, key=message.key)
            if isinstance(decoded, Rejection):
                if on_rejected is not None:
                    await on_rejected(message, decoded)
                progress.done(message)
                continue
            with bind(event_id=decoded.id, type=decoded.type, unit=decoded.subject,
                      correlation_id=decoded.correlationid):
                yield message, decoded
            progress.processed(decoded.type)
            progress.done(message, decoded.time)

"""Faust wiring of the scheduler: read ``inspections.events``, call the gate, write.

It holds no rule. The scheduler hosts the one intake gate of the contract: each record that
fails it goes to ``inspections.rejected`` from here, and only from here.
"""

from __future__ import annotations

from inspections import logs, topics
from inspections.codec import dumps
from inspections.settings import Settings
from inspections.streams import make_app, raw_topic
from schemas import Rejection, decode, rejection_event

SERVICE = "scheduler"


def create_app(settings: Settings):
    app = make_app(SERVICE, settings)
    events = raw_topic(app, topics.EVENTS)
    rejected = raw_topic(app, topics.REJECTED)
    log = logs.get(__name__)

    @app.agent(events, concurrency=1)
    async def intake(stream):
        async for event in stream.events():
            message = event.message
            where = {"partition": message.partition, "offset": message.offset}
            decoded = decode(message.value)
            if isinstance(decoded, Rejection):
                record = rejection_event(
                    service=SERVICE,
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    timestamp_ms=int(round(message.timestamp * 1000)),
                    key=message.key,
                    value=message.value,
                    reason=decoded.reason,
                )
                await rejected.send(key=message.key, value=dumps(record))
                log.warning("record rejected", reason=decoded.reason, **where)
            else:
                log.debug(
                    "event received", event_id=decoded.id, type=decoded.type,
                    unit=decoded.subject, correlation_id=decoded.correlationid, **where,
                )

    return app

"""Faust wiring of the scheduler: read ``inspections.events``, call the gate, write.

It holds no rule. The scheduler hosts the one intake gate of the contract: each record that
fails it goes to ``inspections.rejected`` from here, and only from here.
"""

from __future__ import annotations

from inspections import logs, metrics, topics
from inspections.codec import dumps
from inspections.intake import accepted
from inspections.settings import Settings
from inspections.streams import make_app, raw_topic
from schemas import rejection_event

SERVICE = "scheduler"


def create_app(settings: Settings):
    app = make_app(SERVICE, settings)
    events = raw_topic(app, topics.EVENTS)
    rejected = raw_topic(app, topics.REJECTED)
    metrics.serve(app)
    log = logs.get(__name__)

    async def reject(message, rejection) -> None:
        record = rejection_event(
            service=SERVICE,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            timestamp_ms=int(round(message.timestamp * 1000)),
            key=message.key,
            value=message.value,
            reason=rejection.reason,
        )
        await rejected.send(key=message.key, value=dumps(record))
        metrics.RECORDS_REJECTED.labels(rejection.cause).inc()
        log.warning(
            "record rejected", cause=rejection.cause, reason=rejection.reason,
            partition=message.partition, offset=message.offset,
        )

    @app.agent(events, concurrency=1)
    async def intake(stream):
        async for _message, _event in accepted(stream, SERVICE, on_rejected=reject):
            pass  # the scheduler's rules come here (issue 4)

    return app

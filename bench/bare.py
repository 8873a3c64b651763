"""The framework's floor: a faust agent that reads ``<prefix>.events`` and writes each record,
unchanged, to ``<prefix>.bench-out`` — at-least-once, ``concurrency=1``, no table, no decoding.

    python -m bench.bare      (INSPECTIONS_TOPIC_PREFIX names the topics)
"""

from __future__ import annotations

import sys

from runtime import logs, topics
from runtime import settings as settings_module

OUT = "bench-out"


def create_out_topic(settings) -> None:
    """``<prefix>.bench-out``, which the agent writes to."""
    from kafka.admin import NewTopic

    from runtime import kafka

    admin = kafka.admin(settings)
    try:
        admin.create_topics([NewTopic(f"{settings.topic_prefix}.{OUT}", settings.partitions,
                                      settings.replicas)])
    finally:
        admin.close()


def create_app(settings):
    import faust

    datadir = settings.state_dir / settings.app_id("bare")
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id("bare"),
        broker=[f"kafka://{s}" for s in settings.bootstrap.split(",")],
        store="memory://", web_enabled=False, processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest", key_serializer="raw", value_serializer="raw",
        autodiscover=False, datadir=str(datadir),
    )
    source = app.topic(topics.name(settings, topics.EVENTS), key_type=bytes, value_type=bytes)
    out = app.topic(f"{settings.topic_prefix}.{OUT}", key_type=bytes, value_type=bytes)

    @app.agent(source, concurrency=1)
    async def passthrough(stream):
        async for item in stream.events():
            await out.send(key=item.message.key, value=item.message.value)

    return app


def main() -> None:
    import faust

    settings = settings_module.load()
    logs.configure("bare", settings.log_level, settings.log_format)
    worker = faust.Worker(create_app(settings), loglevel=settings.log_level, quiet=True,
                          override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    sys.exit(main())

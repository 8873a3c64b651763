"""The framework's floor, as the services run on it: a faust agent that reads
``<prefix>.events`` and writes each record, unchanged, to ``<prefix>.bench-out`` —
at-least-once, ``concurrency=1``, no table, no decoding, with the services' producer settings
(``runtime.faust_runner.app.PRODUCER``) and their Prometheus sensor
(``runtime.faust_runner.observe.faust_sensors``), so that a ratio against it is like for like.
``--consume-only``: it reads and writes nothing (the floor of reading alone).

    python -m bench.bare [--consume-only]      (INSPECTIONS_TOPIC_PREFIX names the topics)
"""

from __future__ import annotations

import sys

from runtime.config import settings as settings_module
from runtime.config import topics
from runtime.plumbing import logs

OUT = "bench-out"
CONSUME_ONLY = "--consume-only"


def create_out_topic(settings) -> None:
    """``<prefix>.bench-out``, which the agent writes to."""
    from kafka.admin import NewTopic

    from runtime.plumbing import kafka

    admin = kafka.admin(settings)
    try:
        admin.create_topics([NewTopic(f"{settings.topic_prefix}.{OUT}", settings.partitions,
                                      settings.replicas)])
    finally:
        admin.close()


def app_name(consume_only: bool) -> str:
    return "bare-read" if consume_only else "bare"


def create_app(settings, consume_only: bool = False):
    import faust

    from runtime.faust_runner.app import PRODUCER
    from runtime.faust_runner.observe import faust_sensors

    name = app_name(consume_only)
    datadir = settings.state_dir / settings.app_id(name)
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id(name),
        broker=[f"kafka://{s}" for s in settings.bootstrap.split(",")],
        store="memory://", web_enabled=False, processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest", key_serializer="raw", value_serializer="raw",
        autodiscover=False, datadir=str(datadir), **PRODUCER,
    )
    faust_sensors(app, name.replace("-", "_"))
    source = app.topic(topics.name(settings, topics.EVENTS), key_type=bytes, value_type=bytes)
    out = app.topic(f"{settings.topic_prefix}.{OUT}", key_type=bytes, value_type=bytes)

    if consume_only:
        @app.agent(source, concurrency=1)
        async def read(stream):
            async for _ in stream.events():
                pass
    else:
        @app.agent(source, concurrency=1)
        async def passthrough(stream):
            async for item in stream.events():
                await out.send(key=item.message.key, value=item.message.value)

    return app


def main(argv: list[str]) -> None:
    import faust

    consume_only = CONSUME_ONLY in argv
    settings = settings_module.load()
    logs.configure(app_name(consume_only), settings.log_level, settings.log_format)
    worker = faust.Worker(create_app(settings, consume_only), loglevel=settings.log_level,
                          quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

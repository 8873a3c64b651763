"""The faust side of every service: one app factory, one topic factory, one way to run.

Built when called, never at import time, so that tests and tools build apps with their own
settings. Guarantees: at-least-once with ``concurrency=1`` agents; "once" comes from
deterministic derived ids and idempotent views, not from faust's exactly-once mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspections import logs, topics
from inspections.settings import Settings

if TYPE_CHECKING:
    import faust

SERVICE_NAMES = ("scheduler", "findings", "escalation")


def web_port(settings: Settings, service: str) -> int:
    return settings.web_port_base + SERVICE_NAMES.index(service)


def make_app(service: str, settings: Settings) -> "faust.App":
    import faust

    datadir = settings.state_dir / service
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        f"inspections-{service}",
        broker=[f"kafka://{server}" for server in settings.bootstrap.split(",")],
        store="rocksdb://",
        datadir=str(datadir),
        web_host=settings.web_host,
        web_port=web_port(settings, service),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        producer_max_request_size=topics.REJECTED_MAX_BYTES,
    )


def raw_topic(app: "faust.App", name: str) -> "faust.TopicT":
    """A topic of bytes: the project's own codec, not faust's, decodes and encodes."""
    return app.topic(name, key_type=bytes, value_type=bytes, internal=False)


def run_worker(app: "faust.App", settings: Settings, service: str) -> None:
    """Run ``app`` until SIGINT/SIGTERM, logging through the project's structlog setup."""
    import faust

    logs.configure(service, settings.log_level, settings.log_format)
    worker = faust.Worker(
        app, loglevel=settings.log_level, quiet=True, override_logging=False
    )
    worker.spinner = None  # it writes terminal escapes into the log stream
    worker.execute_from_commandline()

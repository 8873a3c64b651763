"""The faust app of a service, built when called (never at import time, so that tests and
tools build apps with settings of their own), its topics and tables, and the way to run it.

Guarantees: at-least-once with ``concurrency=1`` agents; "once" comes from deterministic
derived ids and idempotent state, not from faust's exactly-once mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.vocabulary import ALL, SERVICES
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner import writes
from runtime.plumbing import logs

if TYPE_CHECKING:
    import faust


def web_port(settings: Settings, service: str) -> int:
    """A service's worker serves on the base port plus its place in ``SERVICES``; the
    operator page on the next one; a worker of every service (``ALL``) on the one after."""
    if settings.web_port:
        return settings.web_port
    if service == ALL:
        return settings.web_port_base + len(SERVICES) + 1
    return settings.web_port_base + SERVICES.index(service)


def advertised_url(settings: Settings, port: int) -> str:
    """The URL the service's other workers reach this one at (faust's canonical URL):
    ``INSPECTIONS_WEB_ADVERTISED_URL``, else the bind address and port, with this host's own
    address in place of a wildcard (another worker cannot reach 0.0.0.0)."""
    import socket

    if settings.web_advertised_url:
        return settings.web_advertised_url.rstrip("/")
    host = settings.web_host
    if host in ("", "0.0.0.0", "::"):
        try:
            host = socket.gethostbyname(socket.gethostname())
        except OSError:
            raise SystemExit(
                f"error: this host's name ({socket.gethostname()}) has no address to "
                "advertise: set INSPECTIONS_WEB_ADVERTISED_URL to where the service's other "
                "workers reach this one") from None
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def make_app(service: str, settings: Settings) -> "faust.App":
    import faust

    from runtime.faust_runner import faust_internals, rocks
    from runtime.plumbing import http, webauth

    faust_internals.check()

    app_id = settings.app_id(service)
    # A worker with a port of its own (a second one on this host) has state of its own too:
    # RocksDB lets one process at a time open a database.
    datadir = settings.state_dir / (f"{app_id}-{settings.web_port}" if settings.web_port
                                    else app_id)
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap.split(",")],
        store=rocks.SCHEME,
        datadir=str(datadir),
        broker_credentials=faust_credentials(settings),
        # Serve on the configured address only (faust binds every interface otherwise).
        web_bind=settings.web_host,
        web_port=web_port(settings, service),
        canonical_url=advertised_url(settings, web_port(settings, service)),
        # The token; each answer sent in time; the body cap and the slow clients' timeouts.
        web_application_options={
            "middlewares": [http.sent_within(), webauth.middleware(settings)],
            **http.server_options()},
        # faust's own pages show raw state and routing (/table, /router, /graph, /stats):
        # no public view. The services' pages and scatter-gather do not use them.
        web_router_enabled=False, web_tables_enabled=False, web_graph_enabled=False,
        web_stats_enabled=False,
        # A worker gone without a word (kill -9) hands its partitions on after this long.
        broker_session_timeout=settings.group_session_timeout_s,
        broker_heartbeat_interval=settings.group_session_timeout_s / 10,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replicas,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        **PRODUCER,
    )


# How a worker's producer sends (the benchmark's bare agent sends the same way).
PRODUCER = dict(
    producer_acks=-1,  # every in-sync replica (min.insync.replicas of them) has each write
    producer_max_request_size=topics.RECORD_MAX_BYTES,
    # A batch's records and changelog writes leave together: a few ms of linger and larger
    # produce batches make fewer, fuller requests (faust: no linger, 16 KiB).
    producer_linger=0.005, producer_max_batch_size=256 * 1024,
)


def table(app: "faust.App", settings: Settings, name: str, partitions: int | None = None):
    """A changelog-backed RocksDB table of bytes. Its databases (one per partition) share the
    worker's RocksDB memory budget (``runtime.faust_runner.rocks``)."""
    made = app.Table(
        name, key_type=bytes, value_type=bytes, partitions=partitions or settings.partitions,
        options={
            "memory_bytes": settings.rocksdb_memory_bytes,
            "write_buffer_size": settings.rocksdb_write_buffer_bytes,
            "max_write_buffer_number": 2,
        },
    )
    writes.sending(made)  # a batch's changelog records, awaited before the next one writes
    return made


def raw_topic(app: "faust.App", name: str) -> "faust.TopicT":
    """A topic of bytes: the project's own codec, not faust's, decodes and encodes."""
    return app.topic(name, key_type=bytes, value_type=bytes, internal=False)


def ensure_changelogs(app: "faust.App", settings: Settings) -> list[str]:
    """Create the changelog topics of ``app``'s tables before the worker starts.

    faust would create them itself, then compare their partition counts with its consumer's
    metadata, which on a KRaft broker can lag a fresh topic: the agent then crashes with
    PartitionsMismatch. Made here, with ``wait_for_metadata``, they exist before it looks.
    """
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import TopicAlreadyExistsError

    from runtime.faust_runner import faust_internals
    from runtime.plumbing import kafka

    admin = kafka.admin(settings, client_id=f"{app.conf.id}-changelogs")
    try:
        existing = set(admin.list_topics())
        wanted = {
            table.changelog_topic.get_topic_name(): table.partitions
            for table in app.tables.values()
        }
        faust_internals.stop_on_changelog_failure(app, set(wanted))  # loudly
        missing = {name: parts for name, parts in wanted.items() if name not in existing}
        made = []
        for name, parts in sorted(missing.items()):
            try:
                admin.create_topics(
                    {name: {"num_partitions": parts,
                            "replication_factor": settings.replicas,
                            "configs": {**topics.CHANGELOG_CONFIG,
                                        "min.insync.replicas": str(settings.min_insync)}}},
                    wait_for_metadata=True,
                )
                made.append(name)
            except TopicAlreadyExistsError:
                pass  # another worker of the service, starting at the same time, made it
        # Changelogs made before their records' size was set take it now.
        present = sorted(set(wanted) & existing)
        if present:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name,
                                                topics.CHANGELOG_CONFIG) for name in present])
        return made + topics.ensure_internal(admin, settings)  # a generation's own
    finally:
        admin.close()


def run_worker(app: "faust.App", settings: Settings, service: str) -> None:
    """Run ``app`` until SIGINT/SIGTERM, logging through the project's structlog setup.

    The signal starts faust's graceful stop; if the process is still there
    ``settings.shutdown_timeout_s`` later, whatever its agents are doing, a watchdog logs
    what it waited for and ends it with ``stopping.EXIT_CODE``
    (``runtime.faust_runner.stopping``)."""
    import faust

    from runtime.faust_runner import stopping

    logs.configure(service, settings.log_level, settings.log_format)
    created = ensure_changelogs(app, settings)
    if created:
        logs.get(__name__).info("changelog topics created", topics=created)
    worker = faust.Worker(
        app, loglevel=settings.log_level, quiet=True, override_logging=False
    )
    worker.spinner = None  # it writes terminal escapes into the log stream
    stopping.Watchdog(settings.shutdown_timeout_s,
                      logs.get("runtime.faust_runner.stopping")).attach(worker)
    worker.execute_from_commandline()


def faust_credentials(settings: Settings):
    """The same as faust's ``broker_credentials`` (None for PLAINTEXT)."""
    import faust

    from runtime.plumbing import kafka

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if "SASL" in protocol:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=kafka.ssl_context(settings) if settings.uses_tls else None)
    return faust.SSLCredentials(kafka.ssl_context(settings))

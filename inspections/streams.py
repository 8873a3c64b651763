"""The faust side of every service: one app factory, one topic factory, one way to run.

Built when called, never at import time, so that tests and tools build apps with their own
settings. Guarantees: at-least-once with ``concurrency=1`` agents; "once" comes from
deterministic derived ids and idempotent views, not from faust's exactly-once mode.
"""

from __future__ import annotations

from collections.abc import MutableMapping
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

    app_id = settings.app_id(service)
    datadir = settings.state_dir / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        app_id,
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


def table(app: "faust.App", settings: Settings, name: str, partitions: int | None = None):
    """A changelog-backed RocksDB table of bytes, with memory bounds from settings (faust's
    defaults give every partition's database a 2 GiB block cache and 64 MiB write buffers)."""
    return app.Table(
        name, key_type=bytes, value_type=bytes, partitions=partitions or settings.partitions,
        options={
            "write_buffer_size": settings.rocksdb_write_buffer_bytes,
            "max_write_buffer_number": 2,
            "block_cache_size": settings.rocksdb_block_cache_bytes,
            "block_cache_compressed_size": settings.rocksdb_block_cache_bytes // 4,
        },
    )


def raw_topic(app: "faust.App", name: str) -> "faust.TopicT":
    """A topic of bytes: the project's own codec, not faust's, decodes and encodes."""
    return app.topic(name, key_type=bytes, value_type=bytes, internal=False)


def ensure_changelogs(app: "faust.App", settings: Settings) -> list[str]:
    """Create the changelog topics of ``app``'s tables before the worker starts.

    faust would create them itself, then compare their partition counts with its consumer's
    metadata, which on a KRaft broker can lag a fresh topic: the agent then crashes with
    PartitionsMismatch. Made here, with ``wait_for_metadata``, they exist before it looks.
    """
    from inspections import kafka

    admin = kafka.admin(settings, client_id=f"{app.conf.id}-changelogs")
    try:
        existing = set(admin.list_topics())
        wanted = {
            table.changelog_topic.get_topic_name(): table.partitions
            for table in app.tables.values()
        }
        missing = {name: parts for name, parts in wanted.items() if name not in existing}
        if missing:
            admin.create_topics(
                {name: {"num_partitions": parts,
                        "replication_factor": settings.replication_factor,
                        "configs": {"cleanup.policy": "compact"}}
                 for name, parts in missing.items()},
                wait_for_metadata=True,
            )
        return sorted(missing)
    finally:
        admin.close()


def run_worker(app: "faust.App", settings: Settings, service: str) -> None:
    """Run ``app`` until SIGINT/SIGTERM, logging through the project's structlog setup."""
    import faust

    logs.configure(service, settings.log_level, settings.log_format)
    created = ensure_changelogs(app, settings)
    if created:
        logs.get(__name__).info("changelog topics created", topics=created)
    worker = faust.Worker(
        app, loglevel=settings.log_level, quiet=True, override_logging=False
    )
    worker.spinner = None  # it writes terminal escapes into the log stream
    worker.execute_from_commandline()


_VIEWS: list[TableView] = []


def forget_cached_state(*args, **kwargs) -> None:
    """Drop every decoded value (connected to faust's rebalance signal)."""
    for view in _VIEWS:
        view.cache.clear()


class TableView(MutableMapping):
    """A faust table of bytes seen as a mapping of ``str`` keys to typed values.

    Values are encoded with a pydantic ``TypeAdapter`` (JSON), so the pure cores' frozen
    dataclasses go into RocksDB and the changelog without faust's own codecs.
    """

    def __init__(self, table, value_type, by_prefix: dict | None = None) -> None:
        from pydantic import TypeAdapter

        self.table = table
        # Decoded values, written through. Values are frozen, so sharing them is safe; only
        # the worker that owns a partition writes its keys, and a rebalance clears it all.
        self.cache: dict[str, object] = {}
        _VIEWS.append(self)
        self.adapter = TypeAdapter(value_type)
        # Keys starting with a prefix hold values of another type.
        self.by_prefix = {p: TypeAdapter(t) for p, t in (by_prefix or {}).items()}

    def _adapter(self, key: str):
        for prefix, adapter in self.by_prefix.items():
            if key.startswith(prefix):
                return adapter
        return self.adapter

    def __getitem__(self, key):
        key = str(key)
        if key in self.cache:
            return self.cache[key]
        raw = self.table.get(key.encode())
        if raw is None:
            raise KeyError(key)
        value = self.cache[key] = self._adapter(key).validate_json(raw)
        return value

    def __setitem__(self, key, value) -> None:
        key = str(key)
        self.table[key.encode()] = self._adapter(key).dump_json(value)
        self.cache[key] = value

    def __delitem__(self, key) -> None:
        self.cache.pop(str(key), None)
        del self.table[str(key).encode()]

    def __iter__(self):
        return (k.decode() for k in self.table.keys())

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, key) -> bool:
        return str(key).encode() in self.table


class Timelines(MutableMapping):
    """Each partition's ``Timeline`` in a faust table as two keys: its stream time
    (``time:<p>``), which nearly every event moves, and its open deadlines (``open:<p>``),
    written only when they change — so that moving time writes a few bytes to the changelog,
    not every open deadline of the partition."""

    def __init__(self, table) -> None:
        from datetime import datetime

        from inspections.deadlines import Deadline

        self.view = TableView(table, datetime | None,
                              by_prefix={"open:": tuple[Deadline, ...]})

    def __getitem__(self, partition):
        from inspections.deadlines import Timeline

        time_key, open_key = f"time:{partition}", f"open:{partition}"
        if time_key not in self.view and open_key not in self.view:
            raise KeyError(partition)
        return Timeline(self.view.get(time_key), self.view.get(open_key) or ())

    def __setitem__(self, partition, timeline) -> None:
        try:
            old = self[partition]
        except KeyError:
            old = None
        if old is None or old.stream_time != timeline.stream_time:
            self.view[f"time:{partition}"] = timeline.stream_time
        if old is None or (old.pending is not timeline.pending
                           and old.pending != timeline.pending):
            self.view[f"open:{partition}"] = timeline.pending

    def __delitem__(self, partition) -> None:
        for key in (f"time:{partition}", f"open:{partition}"):
            if key in self.view:
                del self.view[key]

    def __iter__(self):
        return iter(sorted({int(k.split(":", 1)[1]) for k in self.view}))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, partition) -> bool:
        return f"time:{partition}" in self.view or f"open:{partition}" in self.view


class Staged(MutableMapping):
    """Reads through to ``base``; writes wait in memory until ``flush``.

    A worker computes an event's outcome on staged state, sends the derived records, and
    only then writes the state: so the state's changelog never gets ahead of what was sent,
    and a crash in between re-derives the same records (same ids) instead of losing them.
    """

    _GONE = object()

    def __init__(self, base: MutableMapping) -> None:
        self.base = base
        self.pending: dict = {}

    def __getitem__(self, key):
        value = self.pending.get(key, self._GONE) if key in self.pending else self.base[key]
        if value is self._GONE:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value) -> None:
        self.pending[key] = value

    def __delitem__(self, key) -> None:
        self.pending[key] = self._GONE

    def __iter__(self):
        return iter({*self.base, *self.pending} - {k for k, v in self.pending.items()
                                                    if v is self._GONE})

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def flush(self) -> None:
        for key, value in self.pending.items():
            if value is self._GONE:
                self.base.pop(key, None)
            else:
                self.base[key] = value
        self.pending.clear()


class SeenIds:
    """Event ids already processed, in a faust table; new ones are staged like state."""

    def __init__(self, table) -> None:
        self.table = table
        self.pending: list[bytes] = []

    def __call__(self, event_id: str) -> bool:
        key = event_id.encode()
        if key in self.pending or key in self.table:
            return True
        self.pending.append(key)
        return False

    def flush(self) -> None:
        for key in self.pending:
            self.table[key] = b"1"
        self.pending.clear()


class Tagged:
    """JSON for a few frozen dataclasses on an internal topic: ``{"kind", "body"}``."""

    def __init__(self, kinds: dict[str, type]) -> None:
        from pydantic import TypeAdapter

        self.adapters = {kind: TypeAdapter(cls) for kind, cls in kinds.items()}
        self.kinds = {cls: kind for kind, cls in kinds.items()}
        self.envelope = TypeAdapter(dict)

    def encode(self, value) -> bytes:
        from inspections.codec import dumps

        kind = self.kinds[type(value)]
        return dumps({"kind": kind, "body": self.adapters[kind].dump_python(value, mode="json")})

    def decode(self, raw: bytes):
        record = self.envelope.validate_json(raw)
        return self.adapters[record["kind"]].validate_python(record["body"])


async def send_breaches(topic, found, service: str) -> None:
    """Write ``deadline.breached`` events (keyed by unit) and count them."""
    from inspections import metrics
    from inspections.breaches import to_event
    from inspections.codec import dumps

    log = logs.get("inspections.breaches")
    for breach in found:
        await topic.send(key=breach.unit_id.encode(), value=dumps(to_event(breach, service)))
        metrics.BREACHES.labels(service, breach.kind).inc()
        log.info("deadline breached", kind=breach.kind, unit=breach.unit_id,
                 subject=breach.subject_id, cause=breach.cause_id)


def json_or_404(web, value, what: str):
    """A view's answer: the value as JSON, or 404 saying what was not found."""
    if value is None:
        return web.json({"error": f"{what} not found"}, status=404)
    return web.json(value)

"""The faust side of every service: one app factory, one topic factory, one way to run.

Built when called, never at import time, so that tests and tools build apps with their own
settings. Guarantees: at-least-once with ``concurrency=1`` agents; "once" comes from
deterministic derived ids and idempotent views, not from faust's exactly-once mode.

Agents take their records in batches (``batches``): one unit of work each, written once per
key. That leans on three internals of faust 0.15 (pinned in constraints.txt): a stream's
processors and passive drainer (as its own ``take_events`` does), and its current-event
context variable, which decides the partition a table write is filed under.
"""

from __future__ import annotations

import sys
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inspections import logs, topics
from inspections.observe import Progress
from inspections.settings import Settings

if TYPE_CHECKING:
    import faust

SERVICE_NAMES = ("scheduler", "findings", "escalation")


def web_port(settings: Settings, service: str) -> int:
    return settings.web_port or settings.web_port_base + SERVICE_NAMES.index(service)


def make_app(service: str, settings: Settings) -> "faust.App":
    import faust

    from inspections import kafka, rocks, webauth

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
        broker_credentials=kafka.faust_credentials(settings),
        # Serve on the configured address only (faust binds every interface otherwise).
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=web_port(settings, service),
        web_application_options={"middlewares": [webauth.middleware(settings)]},
        # A worker gone without a word (kill -9) hands its partitions on after this long.
        broker_session_timeout=settings.group_session_timeout_s,
        broker_heartbeat_interval=settings.group_session_timeout_s / 10,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        producer_max_request_size=topics.REJECTED_MAX_BYTES,
        # A batch's records and changelog writes leave together: a few ms of linger and
        # larger produce batches make fewer, fuller requests (faust: no linger, 16 KiB).
        producer_linger=0.005, producer_max_batch_size=256 * 1024,
    )


def table(app: "faust.App", settings: Settings, name: str, partitions: int | None = None):
    """A changelog-backed RocksDB table of bytes. Its databases (one per partition) share the
    worker's RocksDB memory budget (``inspections.rocks``)."""
    return app.Table(
        name, key_type=bytes, value_type=bytes, partitions=partitions or settings.partitions,
        options={
            "memory_bytes": settings.rocksdb_memory_bytes,
            "write_buffer_size": settings.rocksdb_write_buffer_bytes,
            "max_write_buffer_number": 2,
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
    from kafka.errors import TopicAlreadyExistsError

    from inspections import kafka

    admin = kafka.admin(settings, client_id=f"{app.conf.id}-changelogs")
    try:
        existing = set(admin.list_topics())
        wanted = {
            table.changelog_topic.get_topic_name(): table.partitions
            for table in app.tables.values()
        }
        missing = {name: parts for name, parts in wanted.items() if name not in existing}
        made = []
        for name, parts in sorted(missing.items()):
            try:
                admin.create_topics(
                    {name: {"num_partitions": parts,
                            "replication_factor": settings.replication_factor,
                            "configs": {"cleanup.policy": "compact"}}},
                    wait_for_metadata=True,
                )
                made.append(name)
            except TopicAlreadyExistsError:
                pass  # another worker of the service, starting at the same time, made it
        return made
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


# An internal topic's records packed into arrays of about this size (well under Kafka's 1 MiB).
PACK_BYTES = 256 * 1024

_VIEWS: list = []  # everything holding decoded state: each has a ``cache`` to clear


def holds_decoded_state(holder) -> None:
    """Have ``holder.cache`` cleared with the rest (``forget_cached_state``)."""
    _VIEWS.append(holder)


def forget_cached_state(*args, **kwargs) -> None:
    """Drop every decoded value."""
    for view in _VIEWS:
        view.cache.clear()


def forget_cached_state_on_rebalance(app: "faust.App") -> None:
    """Drop what was decoded when partitions go (another worker may write them next) and
    again when the tables' recovery completes: a read during recovery (a gauge, a view
    request) may have kept a value, or a key's absence, that the changelog then changed."""
    app.on_partitions_revoked.connect(forget_cached_state)
    app.on_rebalance_complete.connect(forget_cached_state)


class TableView(MutableMapping):
    """A faust table of bytes seen as a mapping of ``str`` keys to typed values.

    Values are encoded with a pydantic ``TypeAdapter`` (JSON), so the pure cores' frozen
    dataclasses go into RocksDB and the changelog without faust's own codecs.
    """

    def __init__(self, table, value_type, by_prefix: dict | None = None,
                 cache_entries: int = 2_000) -> None:
        from pydantic import TypeAdapter

        self.table = table
        # Decoded values, written through, the least recently used dropped past
        # ``cache_entries``. Values are frozen, so sharing them is safe; only the worker that
        # owns a partition writes its keys, and a rebalance clears it all.
        self.cache: OrderedDict[str, object] = OrderedDict()
        self.cache_entries = cache_entries
        holds_decoded_state(self)
        self.adapter = TypeAdapter(value_type)
        # Keys starting with a prefix hold values of another type.
        self.by_prefix = {p: TypeAdapter(t) for p, t in (by_prefix or {}).items()}

    def _remember(self, key: str, value) -> None:
        cache = self.cache
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self.cache_entries:
            cache.popitem(last=False)

    def _adapter(self, key: str):
        for prefix, adapter in self.by_prefix.items():
            if key.startswith(prefix):
                return adapter
        return self.adapter

    def __getitem__(self, key):
        key = str(key)
        value = self.cache.get(key, _MISSING)
        if value is not _MISSING:
            self.cache.move_to_end(key)
            return value
        raw = self.table.get(key.encode())
        if raw is None:
            raise KeyError(key)
        value = self._adapter(key).validate_json(raw)
        self._remember(key, value)
        return value

    def __setitem__(self, key, value) -> None:
        key = str(key)
        self.table[key.encode()] = self._adapter(key).dump_json(value)
        self._remember(key, value)

    def __delitem__(self, key) -> None:
        self.cache.pop(str(key), None)
        del self.table[str(key).encode()]

    def __iter__(self):
        return (k.decode() for k in self.table.keys())

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, key) -> bool:
        return str(key) in self.cache or str(key).encode() in self.table

    def values_with_prefix(self, prefix: str) -> list:
        """The values of every key starting with ``prefix``, decoded without caching them
        (a scan, for reading a whole group once)."""
        wanted = prefix.encode()
        adapter = self._adapter(prefix)
        return [adapter.validate_json(raw) for key, raw in self.table.items()
                if key.startswith(wanted)]


_MISSING = object()


class Timelines(MutableMapping):
    """Each partition's ``Timeline`` in a faust table: its stream time (``time:<p>``), which
    nearly every batch moves, and each open deadline as a key of its own
    (``due:<p>:<deadline id>``), written when it opens and deleted when it closes — so that a
    batch writes what changed, however many deadlines a partition holds open. The whole
    timeline of a partition is read once (a scan of its keys) and then kept in memory."""

    def __init__(self, table) -> None:
        from inspections.deadlines import Deadline

        self.view = TableView(table, datetime | None, by_prefix={"due:": Deadline})
        # partition -> Timeline (or _MISSING: none in the table); cleared on a rebalance
        self.cache: dict[int, object] = {}
        holds_decoded_state(self)

    def __getitem__(self, partition):
        from inspections.deadlines import Timeline

        found = self.cache.get(partition)
        if found is None:
            time_key = f"time:{partition}"
            pending = tuple(sorted(self.view.values_with_prefix(f"due:{partition}:")))
            # A partition without one is remembered too: every lookup would scan again.
            found = self.cache[partition] = (
                Timeline(self.view.get(time_key), pending)
                if time_key in self.view or pending else _MISSING)
        if found is _MISSING:
            raise KeyError(partition)
        return found

    def __setitem__(self, partition, timeline) -> None:
        try:
            old = self[partition]
        except KeyError:
            old = None
        if old is None or old.stream_time != timeline.stream_time:
            self.view[f"time:{partition}"] = timeline.stream_time
        before = {d.deadline_id: d for d in old.pending} if old is not None else {}
        if old is None or old.pending is not timeline.pending:
            after = {d.deadline_id: d for d in timeline.pending}
            for deadline_id in before.keys() - after.keys():
                del self.view[f"due:{partition}:{deadline_id}"]
            for deadline_id, deadline in after.items():
                if before.get(deadline_id) != deadline:
                    self.view[f"due:{partition}:{deadline_id}"] = deadline
        self.cache[partition] = timeline

    def __delitem__(self, partition) -> None:
        for key in [f"time:{partition}",
                    *(k for k in self.view if k.startswith(f"due:{partition}:"))]:
            if key in self.view:
                del self.view[key]
        self.cache.pop(partition, None)

    def __iter__(self):
        return iter(sorted({int(k.split(":", 2)[1]) for k in self.view}))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@contextmanager
def as_current(event):
    """Make ``event`` faust's current event: faust files a table write under the partition of
    the current event, so each write of a batch is made with the event that caused it."""
    from faust.streams import _current_event

    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Staged(MutableMapping):
    """Reads through to ``base``; writes wait in memory until ``flush``, each made with the
    faust event of the batch that staged it current (``batch.event``)."""

    _GONE = object()

    def __init__(self, base: MutableMapping, batch: Batch) -> None:
        self.base = base
        self.batch = batch
        self.pending: dict = {}
        self.events: dict = {}

    def __getitem__(self, key):
        value = self.pending.get(key, self._GONE) if key in self.pending else self.base[key]
        if value is self._GONE:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value) -> None:
        self.pending[key] = value
        self.events[key] = self.batch.event

    def __delitem__(self, key) -> None:
        self[key] = self._GONE

    def __contains__(self, key) -> bool:
        if key in self.pending:
            return self.pending[key] is not self._GONE
        return key in self.base

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
            with as_current(self.events[key]):
                if value is self._GONE:
                    self.base.pop(key, None)
                else:
                    self.base[key] = value
        self.pending.clear()
        self.events.clear()


class Outbox:
    """Records for one topic, sent when the batch commits, in the order they were added.

    A record added with ``replaces`` supersedes the one added earlier with the same value
    (keeping that one's place), unless a record without ``replaces`` came in between on the
    same ``lane`` (None: every lane): a view re-keyed many times in a batch is sent once, and
    never moves across a record that must stay after it (a partition's watermark after that
    partition's unit news, say)."""

    def __init__(self, topic, encode: Callable[[Any], bytes] | None = None,
                 pack_bytes: int = 0) -> None:
        self.topic = topic
        self.encode = encode
        # >0: consecutive records of one key go as one record, a JSON array of their values,
        # of up to about this many bytes (``unpack`` reads it): an internal topic's consumer
        # then pays faust's per-record cost once per array, not per value.
        self.pack_bytes = pack_bytes
        self.records: list[tuple[bytes | None, Any, int | None]] = []
        self.segments: dict[Any, dict] = {}

    def add(self, key: bytes | None, value, *, replaces=None, lane=None,
            partition: int | None = None) -> None:
        record = (key, value, partition)
        if replaces is not None:
            self.segments.setdefault(lane, {})[replaces] = record
            return
        for name in ([lane] if lane is not None else list(self.segments)):
            self.records.extend(self.segments.pop(name, {}).values())
        self.records.append(record)

    async def send(self) -> int:
        """Send every record, then wait until the broker has them all: a batch's state is
        written only after what it derived is safely on its topics (on any cluster)."""
        import asyncio

        for segment in self.segments.values():
            self.records.extend(segment.values())
        self.segments.clear()
        encode, name = self.encode, self.topic.get_topic_name()
        wire = [(key, encode(value) if encode else value, partition)
                for key, value, partition in self.records]
        if self.pack_bytes:
            wire = _packed(wire, self.pack_bytes)
        # faust's producer, not Topic.send: this skips its per-record channel and sensor
        # work; faust's commit flushes this producer too.
        producer = self.topic.app.producer
        pending = [await producer.send(name, key, value, partition, None, None)
                   for key, value, partition in wire]
        if pending:
            await asyncio.gather(*pending)
        sent = len(self.records)
        self.records.clear()
        return sent


def _packed(records: list[tuple[bytes | None, bytes, int | None]], limit: int) -> list:
    """Runs of records with the same key and partition, each as JSON arrays of their values
    of up to ``limit`` bytes (a value larger than that alone), in order."""
    out: list = []
    run: list[bytes] = []
    size = 0
    place = None
    for key, value, partition in records:
        if run and ((key, partition) != place or size + len(value) + 1 > limit):
            out.append((place[0], b"[" + b",".join(run) + b"]", place[1]))
            run, size = [], 0
        place = (key, partition)
        run.append(value)
        size += len(value) + 1
    if run:
        out.append((place[0], b"[" + b",".join(run) + b"]", place[1]))
    return out


class Batch:
    """The records of one ``take_events`` batch, as one unit of work.

    State is staged (``stage``) and records to send wait in outboxes (``outbox``) until
    ``commit``, which sends, waits for the broker to acknowledge every record, and then
    writes each staged key once: the state's changelog never gets ahead of what was sent, and
    a crash in between redelivers the batch, which derives the same records (same ids) again.
    The batch's offsets are acked only when the agent asks for the next one, so after
    ``commit``.
    """

    def __init__(self, events: list, progress: Progress) -> None:
        self.events = events
        self.progress = progress
        self.event = None  # the faust event being applied: staged writes are filed under it
        self._staged: list[Staged] = []
        self._outboxes: list[Outbox] = []
        self._times: dict[int, datetime] = {}  # event times of the accepted records, by index
        self.committed = False

    def stage(self, base: MutableMapping) -> Staged:
        staged = Staged(base, self)
        self._staged.append(staged)
        return staged

    def outbox(self, topic, encode: Callable[[Any], bytes] | None = None,
               pack_bytes: int = 0) -> Outbox:
        box = Outbox(topic, encode, pack_bytes)
        self._outboxes.append(box)
        return box

    def seen(self, ids: SeenIds) -> Callable[[str], bool]:
        """``ids`` as the cores' ``seen``, for the record being applied: its id is looked up
        among, and staged into, the ids of its record key."""
        staged = self.stage(ids.view)

        def seen(event_id: str) -> bool:
            key = ids.key_of(self.event.message)
            known = staged.get(key) or frozenset()
            if event_id in known:
                return True
            staged[key] = known | {event_id}
            return False

        return seen

    def records(self) -> Iterator[Any]:
        """Each record's message, in order, with its place bound to every log line of its
        processing and its event current for the writes it stages."""
        for index, event in enumerate(self.events):
            self.event = event
            message = event.message
            self._index = index
            with logs.bound(topic=message.topic, partition=message.partition,
                            offset=message.offset):
                yield message

    def note_time(self, event_time: datetime) -> None:
        """The event time of the record being applied (for the event-time latency)."""
        self._times[self._index] = event_time

    async def commit(self) -> None:
        for box in self._outboxes:
            await box.send()
        for staged in self._staged:
            staged.flush()
        self.committed = True
        for index, event in enumerate(self.events):
            self.progress.done(event.message, self._times.get(index))


class InOrder:
    """Each partition's records in offset order, none skipped, within a consumer generation.

    faust 0.15 can skip the first records of a partition after a rebalance or a restart:
    records fetched before its seek to the committed offset are still delivered after it,
    move its read offset past the committed one, and so make it drop the records fetched
    again (seen after kill -9 and in the scale-out test). A record past the next expected
    offset makes a seek back to it; records already taken are dropped, and so are those
    fetched before the seek (they come again after it). If nothing has come back in
    ``RESEEK_S`` (the same race can drop the records of this seek, and none may follow
    them), ``reseek_overdue`` seeks again. If the record that comes first after a seek is
    still past the expected offset, the offsets between hold no record (a transaction
    marker, a compacted record): so be it.

    faust counts the offsets of its ``_gap`` intervals as acked, and adds one wherever its
    read offset jumps, a seek's included: it could then commit records not yet processed.
    Only the gaps this class has found empty are left to it (``_keep_own_gaps``).
    """

    RESEEK_S = 10.0

    def __init__(self, app) -> None:
        self.app = app
        self.generation = None
        self.expected: dict = {}   # tp -> next offset to take
        self.seeking: dict = {}    # tp -> (offset sought, record that showed the gap, when)

    async def admits(self, message) -> bool:
        app = self.app
        if app.consumer_generation_id != self.generation:
            self.generation = app.consumer_generation_id
            self.expected.clear()
            self.seeking.clear()
        tp, offset = message.tp, message.offset
        want = self.expected.get(tp)
        if want is None:
            committed = app.consumer._committed_offset.get(tp)  # as faust's seek set it
            want = committed if committed is not None and committed <= offset else offset
        if offset < want:
            return False  # taken already (a record fetched twice around a seek)
        if offset > want:
            sought = self.seeking.get(tp)
            if sought is None:
                await self._seek_back(tp, want, offset)
                return False
            _, shown, _ = sought
            if offset > shown:
                return False  # fetched before the seek: it comes again after it
            # First after the seek and still past ``want``: no record in between.
        self.seeking.pop(tp, None)
        self._keep_own_gaps(tp, want, offset)
        self.expected[tp] = offset + 1
        return True

    async def reseek_overdue(self) -> None:
        """Seek again where a seek has brought nothing back in ``RESEEK_S``."""
        if self.app.consumer_generation_id != self.generation:
            return  # a rebalance: faust seeks to the committed offsets itself
        now = time.monotonic()
        for tp, (want, shown, when) in list(self.seeking.items()):
            if now - when > self.RESEEK_S:
                await self._seek_back(tp, want, shown)

    async def _seek_back(self, tp, want: int, shown: int) -> None:
        self.seeking[tp] = (want, shown, time.monotonic())
        logs.get(__name__).warning("records skipped by the consumer: seeking back",
                                   topic=tp.topic, partition=tp.partition,
                                   expected=want, got=shown)
        # In the consumer's own thread (faust's seek() calls it from this one).
        await self.app.consumer.seek_wait({tp: want})

    def _keep_own_gaps(self, tp, want: int, offset: int) -> None:
        """Drop faust's gaps from ``want`` on (records are still to come there); when the
        record taken is past ``want``, the offsets between are one."""
        gaps = self.app.consumer._gap
        tree = gaps.get(tp)
        if tree:
            for interval in tree.overlap(want, sys.maxsize):
                tree.remove(interval)
        if offset > want:
            gaps[tp].addi(want, offset)


async def take_batches(stream, max_records: int, linger_s: float) -> AsyncIterator[list]:
    """The stream's events in batches: from the first record, more are taken while they
    keep coming (no pause of a millisecond), up to ``max_records`` or ``linger_s``.

    Unlike faust's ``Stream.take_events``, which waits a fixed time for every batch, a lone
    record goes at once while a backlog makes full batches. Each batch's events are acked
    when the agent asks for the next batch (so after its commit), never if the body raised.
    Records come in order, none skipped (``InOrder``).
    """
    import asyncio

    waiting: list = []
    arrived, room = asyncio.Event(), asyncio.Event()
    room.set()
    loop = asyncio.get_running_loop()
    in_order = InOrder(stream.app)

    async def add_to_buffer(value):
        event = stream.current_event
        if not await in_order.admits(event.message):
            return value
        waiting.append(event)
        arrived.set()
        if len(waiting) >= max_records:
            room.clear()
            await stream.wait(room)
        return value

    acks_before = stream.enable_acks
    stream.enable_acks = False  # acked here, after the batch is done
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(arrived, timeout=1.0)
            await in_order.reseek_overdue()
            if not waiting:
                continue
            first = loop.time()
            while len(waiting) < max_records and loop.time() - first < linger_s:
                size = len(waiting)
                await asyncio.sleep(0.001)
                if len(waiting) == size:
                    break
            taken = waiting[:max_records]
            del waiting[:len(taken)]
            if not waiting:
                arrived.clear()
            room.set()
            yield taken
            for event in taken:
                await stream.ack(event)
    finally:
        stream.enable_acks = acks_before
        stream._processors.remove(add_to_buffer)


async def batches(stream, settings: Settings, progress: Progress) -> AsyncIterator[Batch]:
    """The agent's records in batches (``take_batches``). The body must ``commit`` each."""
    async for events in take_batches(stream, settings.batch_max_records,
                                     settings.batch_linger_ms / 1000):
        batch = Batch(events, progress)
        yield batch
        if not batch.committed:
            raise RuntimeError("a batch was left without commit(): its state would be lost")


class SeenIds:
    """Event ids already processed, one table key per record key (a unit; a partition for
    the records without a key), so that a batch writes each key once, not each id."""

    def __init__(self, table, cache_entries: int = 2_000) -> None:
        self.view = TableView(table, frozenset[str], cache_entries=cache_entries)

    @staticmethod
    def key_of(message) -> str:
        from inspections.deadlines import seen_key

        return seen_key(message.key, message.partition)

    def __contains__(self, place: tuple[Any, str]) -> bool:
        """Whether ``(message, event_id)`` was processed before."""
        message, event_id = place
        return event_id in (self.view.get(self.key_of(message)) or ())


class Tagged:
    """JSON for a few frozen dataclasses on an internal topic: ``{"kind", "body"}``."""

    def __init__(self, kinds: dict[str, type]) -> None:
        from pydantic import TypeAdapter

        self.adapters = {kind: TypeAdapter(cls) for kind, cls in kinds.items()}
        self.kinds = {cls: kind for kind, cls in kinds.items()}
        self.envelope = TypeAdapter(dict)
        self.array = TypeAdapter(list[dict])

    def encode(self, value) -> bytes:
        from inspections.codec import dumps

        kind = self.kinds[type(value)]
        return dumps({"kind": kind, "body": self.adapters[kind].dump_python(value, mode="json")})

    def decode(self, raw: bytes):
        record = self.envelope.validate_json(raw)
        return self.adapters[record["kind"]].validate_python(record["body"])

    def unpack(self, raw: bytes) -> list:
        """The values of one record: a packed array (``Outbox`` with ``pack_bytes``) or one."""
        if not raw.startswith(b"["):
            return [self.decode(raw)]
        return [self.adapters[record["kind"]].validate_python(record["body"])
                for record in self.array.validate_json(raw)]


def add_breaches(outbox: Outbox, found, service: str) -> None:
    """Stage ``deadline.breached`` events (keyed by unit) to send; count and log each one
    while its cause's context is bound."""
    from inspections import metrics
    from inspections.breaches import to_event
    from inspections.codec import dumps

    log = logs.get("inspections.breaches")
    for breach in found:
        outbox.add(breach.unit_id.encode(), dumps(to_event(breach, service)))
        metrics.BREACHES.labels(service, breach.kind).inc()
        log.info("deadline breached", kind=breach.kind, unit=breach.unit_id,
                 subject=breach.subject_id, cause=breach.cause_id)


def report_irregular(irregular, service: str) -> None:
    """Count what a flow met out of the usual course, and log each anomaly its rules noted,
    with the record's context bound (called after each record)."""
    if not irregular.counts:
        return
    from inspections import metrics

    counts, notes = irregular.drain()
    for kind, n in counts.items():
        metrics.EVENTS_IRREGULAR.labels(service, kind).inc(n)
    log = logs.get("inspections.irregular")
    for text in notes:
        log.warning("anomaly noted", note=text)


def json_or_404(web, value, what: str):
    """A view's answer: the value as JSON, or 404 saying what was not found."""
    if value is None:
        return web.json({"error": f"{what} not found"}, status=404)
    return web.json(value)

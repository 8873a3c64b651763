"""The in-memory runner: a ``System`` over records held in memory, each service's stores plain
dicts, what one service writes to a topic that another reads handed over at once. Replay,
audit verify, the benchmark's cores and the tests run the services this way; the faust worker
(``runtime.worker``) runs the same declarations on Kafka.

Records go in per partition in offset order, as each service reads them. What crosses
partitions (a service's one-partition side, such as the scheduler's campaign side) can be
handed over as it comes (``feed``) or kept for later (``crossings``, ``cross``): the
parallel replay runs the partitions in processes of their own and the cross-partition side
after them, which the rules allow (it does not depend on how partitions interleave).
"""

from __future__ import annotations

import pickle
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from kernel import ids
from kernel.deadlines import Timeline
from kernel.topology import Read, Service, System
from runtime import topics
from schemas import Rejection, decode
from schemas.envelope import rejection_event


@dataclass(frozen=True)
class Record:
    """A record of a topic, as a runner reads it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


class Seen(dict):
    """Event ids already processed, per record key, as digests."""

    last = (None, None, None, None, None)  # the last lookup's key, partition, id: its place

    def check(self, record_key: bytes | None, partition: int, event_id: str) -> bool:
        # Every service of a runner looks up the same record's id: the place and digest are
        # worked out once a record (``Seen.last`` is shared by the runner's services).
        key, part, ident, place, digest = Seen.last
        if ident != event_id or key != record_key or part != partition:
            place, digest = ids.seen_key(record_key, partition), ids.digest(event_id)
            Seen.last = (record_key, partition, event_id, place, digest)
        found = self.get(place)
        if found is None:
            found = self[place] = set()
        if digest in found:
            return True
        found.add(digest)
        return False


class Context:
    """What a handler gets with a record: its partition and key, the service's stores,
    ``seen`` and ``emit``. One per service, moved from record to record."""

    __slots__ = ("partition", "key", "stores", "seen_ids", "emit")

    def __init__(self, stores: dict, seen_ids: Seen, emit: Callable[[Any], None]) -> None:
        self.partition = 0
        self.key: bytes | None = None
        self.stores = stores
        self.seen_ids = seen_ids
        self.emit = emit

    def store(self, name: str):
        return self.stores[name]

    def seen(self, event_id: str) -> bool:
        return self.seen_ids.check(self.key, self.partition, event_id)


class Compact(MutableMapping):
    """Values kept packed (pickled, compressed) but for the ``decoded`` most recently used:
    a replay's units, of which only those with visits under way are busy. Values are frozen,
    so a decoded one is shared as it is; one set since it was packed is packed again when it
    leaves the decoded ones."""

    def __init__(self, decoded: int = 4_000) -> None:
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self.decoded = decoded
        self.packed: dict[str, bytes] = {}
        self.dirty: set[str] = set()

    def __getitem__(self, key: str):
        cache = self.cache
        value = cache.get(key, _MISSING)
        if value is not _MISSING:
            cache.move_to_end(key)
            return value
        raw = self.packed.get(key)
        if raw is None:
            raise KeyError(key)
        value = pickle.loads(zlib.decompress(raw))
        self._keep(key, value)
        return value

    def get(self, key: str, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value) -> None:
        self.dirty.add(key)
        self._keep(key, value)

    def _keep(self, key: str, value) -> None:
        cache = self.cache
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self.decoded:
            gone, old = cache.popitem(last=False)
            self._pack(gone, old)

    def _pack(self, key: str, value) -> None:
        if key in self.dirty:
            self.packed[key] = zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), 1)
            self.dirty.discard(key)

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("a unit's state is never deleted")

    def __iter__(self):
        return iter(self.packed.keys() | self.cache.keys())

    def __len__(self) -> int:
        return len(self.packed.keys() | self.cache.keys())

    def __contains__(self, key) -> bool:
        return key in self.cache or key in self.packed

    def items(self):
        """Each (key, value), decoded one at a time (not kept decoded)."""
        for key in sorted(self):
            value = self.cache.get(key, _MISSING)
            yield key, (value if value is not _MISSING
                        else pickle.loads(zlib.decompress(self.packed[key])))

    def values(self):
        return (value for _, value in self.items())


_MISSING = object()


def store_for(declared) -> Any:
    """What a declared store is in memory: a unit's state packed when idle, the rest dicts."""
    return Compact() if declared.kind == "units" else {}


class Running:
    """One service in memory: its flow, its stores, and where its writes go."""

    def __init__(self, service: Service, settings, handover: Callable) -> None:
        self.service = service
        self.flow = service.flow(settings)
        self.stores: dict[str, Any] = {s.name: store_for(s) for s in service.stores}
        self.seen = Seen()
        self.context = Context(self.stores, self.seen, self._emit)
        self.handover = handover
        self.writes: dict[type, Any] = {}

    def _emit(self, fact: Any) -> None:
        write = self.writes.get(type(fact))
        if write is None:
            write = self.writes[type(fact)] = self.service.write_for(fact)
        self.handover(self.service, write, fact)

    def handle(self, read: Read, value: Any, partition: int, key: bytes | None) -> None:
        context = self.context
        # A fact handed over mid-record (to this service's own other side) runs inside it.
        outer = context.partition, context.key
        context.partition, context.key = partition, key
        try:
            getattr(self.flow, read.handler)(context, value)
        finally:
            context.partition, context.key = outer

    def timelines(self) -> dict[int, Timeline]:
        return self.stores.get("timelines", {})


class Memory:
    """A ``System`` in one process.

    ``out(topic, event)`` receives each derived event bound for a public topic (the
    canonical name, the event as a dict); with ``cross=False`` the facts bound for a
    one-partition topic are kept in ``crossings`` instead of handed over (run them later
    with ``cross``)."""

    def __init__(self, system: System, settings, out: Callable[[str, dict], None],
                 cross: bool = True, public: Iterable[str] = (),
                 tap: Callable[[str, Any], None] | None = None) -> None:
        self.settings = settings
        self.out = out
        self.tap = tap  # (service, fact) for every fact emitted
        self.deliver_crossings = cross
        self.public = set(public) or {topics.ESCALATIONS, topics.BREACHES, topics.REJECTED}
        self.crossings: list[tuple[str, Any, str]] = []  # (topic, fact, its service)
        self.running = {s.name: Running(s, settings, self._handover) for s in system}
        self.system = system
        self.inbound = [(self.running[s.name], r) for s, r in system.readers(topics.EVENTS)]
        self.readers = {}
        for service in system:
            for write in service.writes:
                if write.topic is not None:
                    self.readers[write.topic] = [(self.running[s.name], r)
                                                 for s, r in system.readers(write.topic)]
        self.rejector = next((r for r in self.running.values()
                              if r.service.publishes_rejections), None)
        self.events_topic = topics.name(settings, topics.EVENTS)

    # -- inbound ---------------------------------------------------------------------------
    def feed(self, record) -> None:
        """One record of the inbound topic, through every service that reads it."""
        self.feed_decoded(record, decode(record.value, key=record.key))

    def feed_decoded(self, record, event) -> None:
        """``feed``, the record already through the gate (``event``: what it gave)."""
        if isinstance(event, Rejection):
            if self.rejector is not None:
                self.out(topics.REJECTED, rejection_event(
                    service=self.rejector.service.name, topic=record.topic,
                    partition=record.partition, offset=record.offset,
                    timestamp_ms=record.timestamp_ms, key=record.key, value=record.value,
                    reason=event.reason))
            return
        for running, read in self.inbound:
            running.handle(read, event, record.partition, record.key)
            if running.flow.irregular.counts:  # a replay counts nothing
                running.flow.irregular.drain()

    def run(self, records: Iterable, advance: Callable[[int], None] = lambda n: None) -> Memory:
        for record in records:
            self.feed(record)
            advance(1)
        return self

    # -- what services write -----------------------------------------------------------
    def _handover(self, service: Service, write, fact: Any) -> None:
        # Counting and logging (``write.report``) is a worker's; a replay says nothing per fact.
        if self.tap is not None:
            self.tap(service.name, fact)
        if write.topic is None:
            return
        if write.topic in self.public:
            self.out(write.topic, write.encode(fact, service.name))
        if write.key is None and not self.deliver_crossings:
            self.crossings.append((write.topic, fact, service.name))
            return
        self.deliver(write.topic, fact, service.name)

    def deliver(self, topic: str, fact: Any, source: str) -> None:
        for running, read in self.readers.get(topic, ()):
            if read.skip_source == source:
                continue
            value = read.take(fact, source) if read.take is not None else fact
            if value is None:
                continue
            running.handle(read, value, 0, None)

    def cross(self, crossings: Iterable[tuple[str, Any, str]]) -> None:
        """Hand over facts kept from ``feed`` (``cross=False``), in the order given."""
        for topic, fact, source in crossings:
            self.deliver(topic, fact, source)

    def stores(self, service: str) -> dict[str, Any]:
        return self.running[service].stores

"""A service's state in its faust table of bytes, one small key per thing, so that a batch
writes only what it changed: a unit's header and each of its entities (a visit, a finding,
an escalation), each partition's stream time and each open deadline, the event ids already
seen (as 64-bit digests, in chunks), ids' units, per-partition tallies.

Every store is a mapping the flows use as they would a dict. Values are decoded once and
kept (the least recently used dropped past ``cache_entries``); only the worker that owns a
partition writes its keys, and a rebalance or a failed batch drops what was kept
(``forget_cached_state``). Keys are ``<kind>\\x1f<part>...``: a kind's keys are contiguous in
each partition's database, which a prefix scan reads (``runtime.faust_runner.faust_internals``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from datetime import datetime
from typing import Any

from kernel import ids
from kernel.deadlines import Deadline, Timeline
from kernel.frozen import evolve
from runtime.faust_runner import faust_internals

SEP = "\x1f"
_MISSING = object()
_HOLDERS: list = []  # everything holding decoded state: each has a ``cache`` to clear


def key(*parts: str) -> bytes:
    return SEP.join(parts).encode()


def holds_decoded_state(holder) -> None:
    """Have ``holder.cache`` cleared with the rest (``forget_cached_state``)."""
    _HOLDERS.append(holder)


def forget_cached_state(*args, **kwargs) -> None:
    """Drop every decoded value: the tables are the truth."""
    for holder in _HOLDERS:
        holder.cache.clear()


def forget_cached_state_on_rebalance(app) -> None:
    """Drop what was decoded when partitions go (another worker may write them next) and
    again when the tables' recovery completes: a read during recovery (a gauge, a view
    request) may have kept a value, or a key's absence, that the changelog then changed."""
    app.on_partitions_revoked.connect(forget_cached_state)
    app.on_rebalance_complete.connect(forget_cached_state)


class Codec:
    """JSON for a type (frozen dataclasses, dicts, tuples), by pydantic."""

    def __init__(self, value_type: Any) -> None:
        from pydantic import TypeAdapter

        self.adapter = TypeAdapter(value_type)

    def dumps(self, value: Any) -> bytes:
        return self.adapter.dump_json(value)

    def loads(self, raw: bytes) -> Any:
        return self.adapter.validate_json(raw)


class _Cached:
    def __init__(self, cache_entries: int) -> None:
        self.cache: OrderedDict = OrderedDict()
        self.cache_entries = cache_entries
        holds_decoded_state(self)

    def _remember(self, name, value) -> None:
        cache = self.cache
        cache[name] = value
        cache.move_to_end(name)
        if len(cache) > self.cache_entries:
            cache.popitem(last=False)

    def _cached(self, name):
        value = self.cache.get(name, _MISSING)
        if value is not _MISSING:
            self.cache.move_to_end(name)
        return value


class Values(_Cached, MutableMapping):
    """``str`` names under the store's name, typed values (names starting with a prefix of
    ``by_prefix`` hold values of that type)."""

    def __init__(self, table, name: str, value_type: Any, cache_entries: int = 2_000,
                 by_prefix: dict[str, Any] | None = None) -> None:
        super().__init__(cache_entries)
        self.table, self.name, self.codec = table, name, Codec(value_type)
        self.by_prefix = {p: Codec(t) for p, t in (by_prefix or {}).items()}

    def _codec(self, name: str) -> Codec:
        for prefix, codec in self.by_prefix.items():
            if name.startswith(prefix):
                return codec
        return self.codec

    def __getitem__(self, name: str):
        value = self._cached(name)
        if value is _MISSING:
            raw = self.table.get(key(self.name, name))
            if raw is None:
                raise KeyError(name)
            value = self._codec(name).loads(raw)
            self._remember(name, value)
        return value

    def __setitem__(self, name: str, value) -> None:
        self.table[key(self.name, name)] = self._codec(name).dumps(value)
        self._remember(name, value)

    def __delitem__(self, name: str) -> None:
        self.cache.pop(name, None)
        del self.table[key(self.name, name)]

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a table store is listed per partition: names_in(partition)")

    def __len__(self) -> int:
        raise TypeError("a table store is counted per partition")

    def names_in(self, partition: int, prefix: str = "") -> Iterator[str]:
        """The names (starting with ``prefix``) in one partition's database, in order."""
        start = key(self.name, "")
        for raw in prefix_keys(self.table, partition, key(self.name, prefix)):
            yield raw[len(start):].decode()


def prefix_keys(table, partition: int, prefix: bytes) -> Iterator[bytes]:
    """The keys starting with ``prefix`` in one partition's database, in order."""
    db = faust_internals.partition_db(table, partition)
    for found in db.keys(from_key=prefix):
        if not found.startswith(prefix):
            return
        yield found


class Units(_Cached, MutableMapping):
    """A frozen state per unit, kept as a header and one key per entity.

    ``entities`` names the state's fields that map ids to values (a unit's visits, findings,
    escalations): each value is a key of its own (``<store>␟e␟<field>␟<id>␟<unit>``), written
    when it changes; the header (``<store>␟h␟<unit>``) holds the other fields and each entity
    field's ids in order, written when those change. An entity's key starts with its id, so
    that its unit is found by id (``unit_of``) with no index to write. Unchanged entities keep their
    identity in the frozen states the cores build, which is how a write finds what changed.
    """

    def __init__(self, table, name: str, state_type: Any, entities: dict[str, Any],
                 cache_entries: int = 2_000) -> None:
        super().__init__(cache_entries)
        self.table, self.name = table, name
        self.header = Codec(state_type)
        self.entities = {name: Codec(t) for name, t in entities.items()}
        self.empty = {name: {} for name in entities}

    def __getitem__(self, unit: str):
        state = self._cached(unit)
        if state is _MISSING:
            state = self._load(unit)
            if state is None:
                raise KeyError(unit)
            self._remember(unit, state)
        return state

    def _load(self, unit: str):
        raw = self.table.get(key(self.name, "h", unit))
        if raw is None:
            return None
        head, _, order = raw.partition(b"\n")
        header = self.header.loads(head)
        ids = self._order.loads(order)
        filled = {}
        for name, codec in self.entities.items():
            filled[name] = {i: codec.loads(self.table[key(self.name, "e", name, i, unit)])
                            for i in ids.get(name, ())}
        return evolve(header, **filled)

    @property
    def _order(self) -> Codec:
        codec = getattr(self, "_order_codec", None)
        if codec is None:
            codec = self._order_codec = Codec(dict[str, list[str]])
        return codec

    def __setitem__(self, unit: str, state) -> None:
        old = self.get(unit)
        for name, codec in self.entities.items():
            before = getattr(old, name) if old is not None else {}
            for ident, value in getattr(state, name).items():
                if before.get(ident) is not value:
                    self.table[key(self.name, "e", name, ident, unit)] = codec.dumps(value)
            for ident in before.keys() - getattr(state, name).keys():
                del self.table[key(self.name, "e", name, ident, unit)]
        if old is None or self._header_changed(old, state):
            order = {name: list(getattr(state, name)) for name in self.entities}
            self.table[key(self.name, "h", unit)] = (self.header.dumps(evolve(state, **self.empty))
                                          + b"\n" + self._order.dumps(order))
        self._remember(unit, state)

    def _header_changed(self, old, new) -> bool:
        for name in self.entities:
            if getattr(old, name).keys() != getattr(new, name).keys():
                return True
        return evolve(old, **self.empty) != evolve(new, **self.empty)

    def __delitem__(self, unit: str) -> None:
        raise NotImplementedError("a unit's state is never deleted")

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a table store is listed per partition: units_in(partition)")

    def __len__(self) -> int:
        raise TypeError("a table store is counted per partition")

    def unit_of(self, partitions, field: str, entity_id: str) -> str | None:
        """The unit holding ``entity_id`` among its ``field`` in one of ``partitions``."""
        prefix = key(self.name, "e", field, entity_id, "")
        for partition in partitions:
            for found in prefix_keys(self.table, partition, prefix):
                return found[len(prefix):].decode()
        return None

    def units_in(self, partition: int) -> Iterator[str]:
        """The units with state in one partition's database."""
        prefix = key(self.name, "h", "")
        for raw in prefix_keys(self.table, partition, prefix):
            yield raw[len(prefix):].decode()


class Timelines(_Cached, MutableMapping):
    """Each partition's ``Timeline``: its stream time (``<store>␟time␟<p>``) and each open
    deadline (``<store>␟due␟<p>␟<id>``), read once (a prefix scan) and then kept; a write
    stores what the timeline journalled since the last one."""

    def __init__(self, table, name: str) -> None:
        super().__init__(cache_entries=1 << 30)  # a partition's, however many
        self.table, self.name = table, name
        self.time = Codec(datetime | None)
        self.deadline = Codec(Deadline)

    def __getitem__(self, partition: int) -> Timeline:
        timeline = self._cached(partition)
        if timeline is _MISSING:
            p = str(partition)
            raw = self.table.get(key(self.name, "time", p))
            prefix = key(self.name, "due", p, "")
            pending = [self.deadline.loads(self.table[k])
                       for k in prefix_keys(self.table, partition, prefix)]
            timeline = (Timeline(self.time.loads(raw), pending).track()
                        if raw is not None or pending else None)
            self.cache[partition] = timeline
        if timeline is None:
            raise KeyError(partition)
        return timeline

    def __setitem__(self, partition: int, timeline: Timeline) -> None:
        p = str(partition)
        known = self._cached(partition) is timeline
        if not known:  # new here: all of it
            self.table[key(self.name, "time", p)] = self.time.dumps(timeline.stream_time)
            for deadline in timeline.pending:
                self.table[key(self.name, "due", p, deadline.deadline_id)] = self.deadline.dumps(deadline)
            timeline.track()
            self.cache[partition] = timeline
            return
        moved, changed = timeline.drain()
        if moved:
            self.table[key(self.name, "time", p)] = self.time.dumps(timeline.stream_time)
        for deadline_id, deadline in changed.items():
            name = key(self.name, "due", p, deadline_id)
            if deadline is None:
                if self.table.get(name) is not None:
                    del self.table[name]
            else:
                self.table[name] = self.deadline.dumps(deadline)

    def __delitem__(self, partition: int) -> None:
        raise NotImplementedError("a partition's timeline is never deleted")

    def __iter__(self) -> Iterator[int]:
        return (p for p, t in self.cache.items() if t is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Seen(_Cached, MutableMapping):
    """The event ids already processed, per record key, as 64-bit digests
    (``kernel.ids.digest``) in chunks of up to ``CHUNK`` (``<store>␟<key>␟<n>``): a batch writes
    the last chunk of each key it added to. A value is a ``Digests`` set, changed in place;
    setting it back is what marks it for writing."""

    CHUNK = 512

    def __init__(self, table, name: str, cache_entries: int = 2_000) -> None:
        super().__init__(cache_entries)
        self.table, self.name = table, name

    def __getitem__(self, name: str) -> Digests:
        found = self._cached(name)
        if found is _MISSING:
            chunks = []
            while (raw := self.table.get(key(self.name, name, f"{len(chunks):06d}"))) is not None:
                chunks.append(raw)
            found = Digests.of(chunks)
            self._remember(name, found)
        return found

    def __setitem__(self, name: str, digests: Digests) -> None:
        for n in digests.drain(self.CHUNK):
            self.table[key(self.name, name, f"{n:06d}")] = digests.chunk(n, self.CHUNK)
        self._remember(name, digests)

    def __delitem__(self, name: str) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        return iter(self.cache)

    def __len__(self) -> int:
        return len(self.cache)


class StagedSeen:
    """``check`` (``runtime.handling.context``) over a batch's staged ``Seen`` store: an id not seen
    yet is added to its key's digests, whose new chunk the batch writes at its commit."""

    __slots__ = ("staged",)

    def __init__(self, staged) -> None:
        self.staged = staged

    def check(self, record_key: bytes | None, partition: int, event_id: str) -> bool:
        place = ids.seen_key(record_key, partition)
        digests = self.staged[place]
        if not digests.add(ids.digest(event_id)):
            return True
        self.staged[place] = digests  # staged: its new chunk is written at commit
        return False


class Digests:
    """A set of 64-bit digests in the order they were added, and which chunks changed."""

    __slots__ = ("members", "order", "dirty_from")

    def __init__(self) -> None:
        self.members: set[int] = set()
        self.order: list[int] = []
        self.dirty_from: int | None = None

    @classmethod
    def of(cls, chunks: list[bytes]) -> Digests:
        found = cls()
        for raw in chunks:
            for i in range(0, len(raw), 8):
                found.order.append(int.from_bytes(raw[i:i + 8], "big"))
        found.members.update(found.order)
        return found

    def add(self, digest: int) -> bool:
        """Add it; False when it was there already."""
        if digest in self.members:
            return False
        self.members.add(digest)
        if self.dirty_from is None:
            self.dirty_from = len(self.order)
        self.order.append(digest)
        return True

    def drain(self, size: int) -> range:
        """The chunks changed since the last drain."""
        start, self.dirty_from = self.dirty_from, None
        if start is None:
            return range(0)
        return range(start // size, (len(self.order) - 1) // size + 1)

    def chunk(self, n: int, size: int) -> bytes:
        return b"".join(d.to_bytes(8, "big") for d in self.order[n * size:(n + 1) * size])

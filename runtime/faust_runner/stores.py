"""A service's state in its faust table of bytes, one small key per thing, so that a batch
writes only what it changed and nothing that can be derived: a unit's header and each of its
entities (a visit, a finding, an escalation: ``runtime.faust_runner.units``, with what is
derived from them), each partition's gate clock and stream time (one key), the event ids
already seen that no state shows (as 64-bit digests, in chunks), and a service's own values
(the scheduler's campaign side).

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


def prefix_items(table, partition: int, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The keys starting with ``prefix`` in one partition's database, with their values."""
    db = faust_internals.partition_db(table, partition)
    for found, value in db.items(from_key=prefix):
        if not found.startswith(prefix):
            return
        yield found, value


class PartitionTimes(_Cached):
    """Each inbound partition's two times, one key (``times␟<p>``): the gate's clock (the
    newest event time accepted, ``runtime.handling.partition_clock``) and the rules' stream
    time (``Timelines``; None for a service without deadlines). A batch's flushes ``set``
    them; ``write`` then writes each partition that changed once, so that a batch costs one
    write a partition for both."""

    def __init__(self, table) -> None:
        super().__init__(cache_entries=1 << 30)  # a partition's, however many
        self.table = table
        self.codec = Codec(tuple[datetime | None, datetime | None])
        self.dirty: dict[int, Any] = {}  # partition -> the event its write is filed under

    def get(self, partition: int) -> tuple[datetime | None, datetime | None]:
        times = self._cached(partition)
        if times is _MISSING:
            raw = self.table.get(key("times", str(partition)))
            times = (None, None) if raw is None else self.codec.loads(raw)
            self.cache[partition] = times
        return times

    def set(self, partition: int, which: int, value: datetime | None) -> None:
        """Set the clock (``which`` 0) or the stream time (1), to be written by ``write``."""
        times = list(self.get(partition))
        times[which] = value
        self.cache[partition] = tuple(times)
        self.dirty[partition] = faust_internals.current_event()

    def write(self) -> None:
        for partition, event in self.dirty.items():
            with faust_internals.as_current(event):
                self.table[key("times", str(partition))] = self.codec.dumps(self.cache[partition])
        self.dirty.clear()


class Clocks(MutableMapping):
    """The gate's clock of each partition (names: the partitions, as text), as
    ``PartitionClock`` keeps it, in ``PartitionTimes``."""

    def __init__(self, times: PartitionTimes) -> None:
        self.times = times

    def __getitem__(self, name: str) -> datetime:
        clock = self.times.get(int(name))[0]
        if clock is None:
            raise KeyError(name)
        return clock

    def __setitem__(self, name: str, value: datetime) -> None:
        self.times.set(int(name), 0, value)

    def __delitem__(self, name: str) -> None:
        raise NotImplementedError("a partition's clock is never deleted")

    def __iter__(self) -> Iterator[str]:
        raise TypeError("the clocks are read by partition")

    def __len__(self) -> int:
        raise TypeError("the clocks are read by partition")


class Seen(_Cached, MutableMapping):
    """The event ids already processed, per record key, as 64-bit digests
    (``kernel.ids.digest``) in chunks of up to ``CHUNK`` (``<store>␟<key>␟<n>``): a batch writes
    the last chunk of each key it added to. A value is a ``Digests`` set, changed in place;
    setting it back is what marks it for writing. An id the unit's state shows (``shown``,
    the ids its entities name: ``kernel.deadlines.process`` leaves them out) is not
    written: read back with the key's chunks from the unit's state in ``units``."""

    CHUNK = 512

    def __init__(self, table, name: str, cache_entries: int = 2_000,
                 units=None, shown=None) -> None:
        super().__init__(cache_entries)
        self.table, self.name = table, name
        self.units, self.shown = units, shown

    def __getitem__(self, name: str) -> Digests:
        found = self._cached(name)
        if found is _MISSING:
            chunks = []
            while (raw := self.table.get(key(self.name, name, f"{len(chunks):06d}"))) is not None:
                chunks.append(raw)
            found = Digests.of(chunks)
            unit = ids.subject_of_seen_key(name)
            if self.shown is not None and unit is not None \
                    and (state := self.units.get(unit)) is not None:
                found.members.update(ids.digest(i) for i in self.shown(state))
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

    def shown(self, record_key: bytes | None, partition: int, event_id: str) -> None:
        """The key's state shows the id just added: it is not written."""
        self.staged[ids.seen_key(record_key, partition)].take_back(ids.digest(event_id))


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

    def take_back(self, digest: int) -> None:
        """Not to be written after all (it stays a member): the last one added."""
        if self.order and self.order[-1] == digest:
            self.order.pop()
            if self.dirty_from is not None and self.dirty_from >= len(self.order):
                self.dirty_from = None

    def drain(self, size: int) -> range:
        """The chunks changed since the last drain."""
        start, self.dirty_from = self.dirty_from, None
        if start is None:
            return range(0)
        return range(start // size, (len(self.order) - 1) // size + 1)

    def chunk(self, n: int, size: int) -> bytes:
        return b"".join(d.to_bytes(8, "big") for d in self.order[n * size:(n + 1) * size])

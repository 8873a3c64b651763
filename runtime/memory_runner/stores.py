"""What the in-memory runner keeps for a service: each declared store as a mapping in memory,
and the ``Journal`` that undoes what one record changed when its handler fails, so that a
failed record leaves nothing behind (as a faust worker drops a failed batch's staged state).
"""

from __future__ import annotations

import pickle
import zlib
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

from kernel import ids
from kernel.deadlines import Timeline


class Journal:
    """What one record's handling changed in a service's stores, so that it can be undone when
    the handler fails: each store key's value before (``note``), each timeline touched (its
    ``savepoint``), each id marked seen. Active (``active``) only while a record is being
    handled."""

    __slots__ = ("active", "writes", "timelines", "seen")

    def __init__(self) -> None:
        self.active = False
        self.writes: list[tuple[Any, Any, Any]] = []  # (store, key, value before or _MISSING)
        self.timelines: list[Timeline] = []
        self.seen: list[tuple[set, int]] = []

    def end(self) -> None:
        """The record is done: keep what it changed."""
        self.active = False
        if self.timelines:
            for timeline in self.timelines:
                timeline.release()
            self.timelines.clear()
        if self.writes:
            self.writes.clear()
        if self.seen:
            self.seen.clear()

    def rollback(self) -> None:
        """Undo what the record changed, the last change first."""
        for store, key, before in reversed(self.writes):
            store.restore(key, before)
        for timeline in self.timelines:
            timeline.rollback()
        for found, digest in self.seen:
            found.discard(digest)
        self._clear()

    def _clear(self) -> None:
        self.active = False
        self.writes.clear()
        self.timelines.clear()
        self.seen.clear()


class Seen(dict):
    """Event ids already processed, per record key, as digests."""

    last = (None, None, None, None, None)  # the last lookup's key, partition, id: its place

    def __init__(self, journal: Journal | None = None) -> None:
        super().__init__()
        self.journal = journal

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
        if self.journal is not None and self.journal.active:
            self.journal.seen.append((found, digest))
        return False

    def shown(self, record_key: bytes | None, partition: int, event_id: str) -> None:
        """Nothing to leave out: nothing is written."""


class Compact(MutableMapping):
    """Values kept packed (pickled, compressed) but for the ``decoded`` most recently used:
    a replay's units, of which only those with visits under way are busy. Values are frozen,
    so a decoded one is shared as it is; one set since it was packed is packed again when it
    leaves the decoded ones."""

    def __init__(self, decoded: int = 4_000, journal: Journal | None = None) -> None:
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self.decoded = decoded
        self.packed: dict[str, bytes] = {}
        self.dirty: set[str] = set()
        self.journal = journal

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
        journal = self.journal
        if journal is not None and journal.active:
            journal.writes.append((self, key, self.get(key, _MISSING)))
        self.dirty.add(key)
        self._keep(key, value)

    def restore(self, key: str, before) -> None:
        """Back to ``before`` (``_MISSING``: no value), for ``Journal.rollback``."""
        if before is _MISSING:
            self.cache.pop(key, None)
            self.packed.pop(key, None)
            self.dirty.discard(key)
        else:
            self.dirty.add(key)
            self._keep(key, before)

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


class JournalledDict(dict):
    """A dict whose writes while its journal is active can be undone."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def __setitem__(self, key, value) -> None:
        journal = self.journal
        if journal.active:
            journal.writes.append((self, key, dict.get(self, key, _MISSING)))
        dict.__setitem__(self, key, value)

    def __delitem__(self, key) -> None:
        journal = self.journal
        if journal.active:
            journal.writes.append((self, key, dict.get(self, key, _MISSING)))
        dict.__delitem__(self, key)

    def restore(self, key, before) -> None:
        if before is _MISSING:
            dict.pop(self, key, None)
        else:
            dict.__setitem__(self, key, before)

    def _unjournalled(self, *args, **kwargs):
        raise TypeError("a store is written by item: setdefault, pop, update, clear and "
                        "popitem would not be undone when a record fails")

    setdefault = pop = update = clear = popitem = _unjournalled  # type: ignore[assignment]


class Timelines(JournalledDict):
    """Each partition's ``Timeline``, changed in place: one read while a record is handled
    is a savepoint of it (``Journal``)."""

    def get(self, partition, default=None):
        timeline = dict.get(self, partition, default)
        if self.journal.active and timeline is not default and timeline.savepoint():
            self.journal.timelines.append(timeline)
        return timeline

    def __getitem__(self, partition):
        found = self.get(partition, _MISSING)
        if found is _MISSING:
            raise KeyError(partition)
        return found


class Index:
    """An ``index`` store in memory: its entries made from the units store when read (a
    view's; the flows never read one)."""

    def __init__(self, units: Compact, field: str, derive) -> None:
        self.units, self.field, self.derive = units, field, derive

    def items(self) -> Iterator[tuple[str, Any]]:
        for unit, state in self.units.items():
            for entity in getattr(state, self.field).values():
                if (entry := self.derive(unit, entity)) is not None:
                    yield entry


def store_for(declared, journal: Journal, made: dict) -> Any:
    """What a declared store is in memory: a unit's state packed when idle, an index made
    when read, the rest dicts; each undoes what a failed record changed (``journal``).
    ``made``: the stores made before it (an index's ``of``). Nothing is written, so the
    deadlines and ids a faust worker derives from the units' state are simply kept."""
    if declared.kind == "units":
        return Compact(journal=journal)
    if declared.kind == "timelines":
        return Timelines(journal)
    if declared.kind == "index":
        return Index(made[declared.of], declared.field, declared.derive)
    return JournalledDict(journal)

"""A service's units in its faust table (``Units``: a header and a key per entity), and what is
derived from them and never written: an ``Index`` over one kind of entity, the open deadlines
of each partition's ``Timeline`` (whose stream time is kept with the gate's clock). The rest of
the stores, and how keys are made, are in ``runtime.faust_runner.stores``.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from kernel.deadlines import Timeline
from kernel.frozen import evolve
from runtime.faust_runner import faust_internals
from runtime.faust_runner.stores import (
    _MISSING,
    SEP,
    Codec,
    PartitionTimes,
    _Cached,
    holds_decoded_state,
    key,
    prefix_items,
    prefix_keys,
)


class StateUnreadable(RuntimeError):
    """The table holds state this version cannot read: the worker stops (no record could be
    applied) rather than skip every record."""


OLDER_STATE = ("this worker's state was written by an earlier version of the project, under "
               "another layout: start this version under a new INSPECTIONS_APP_PREFIX (a "
               "consumer group and state of its own, built from the inbound log), as "
               "docs/operations.md, Upgrading, says")


class _Places:
    """Where a unit's entities of one field are: each one's number (its key's place, so that
    the unit reads back in the order they came), and the next number to give."""

    __slots__ = ("of", "next")

    def __init__(self) -> None:
        self.of: dict[str, int] = {}
        self.next = 0


class Units(_Cached, MutableMapping):
    """A frozen state per unit, kept as a header and one key per entity.

    ``entities`` names the state's fields that map ids to values (a unit's visits, findings,
    escalations): each value is a key of its own, ``<store>␟e␟<field>␟<unit>␟<n>␟<id>`` (``n``,
    eight hex digits: its place among the unit's, so that a unit reads back, by a prefix
    scan, in the order its entities came), written when it changes; the header
    (``<store>␟h␟<unit>``) holds the other fields, written when they change. A new entity
    writes its own key and nothing else. Unchanged entities keep their identity in the frozen
    states the cores build, which is how a write finds what changed. ``Index`` stores over an
    entity field are told of each entity written.
    """

    def __init__(self, table, name: str, state_type: Any, entities: dict[str, Any],
                 cache_entries: int = 2_000) -> None:
        super().__init__(cache_entries)
        self.table, self.name = table, name
        self.header = Codec(state_type)
        self.entities = {name: Codec(t) for name, t in entities.items()}
        self.empty = {name: {} for name in entities}
        self.indexes: dict[str, list[Index]] = {}  # entity field -> the indexes over it

    def __getitem__(self, unit: str):
        held = self._held(unit, keep=True)
        if held is None:
            raise KeyError(unit)
        return held[0]

    def peek(self, unit: str, partition: int | None = None):
        """A unit's state (None: none), not kept decoded unless it was (for a scan of every
        unit, which would push the busy ones out)."""
        held = self._held(unit, keep=False, partition=partition)
        return None if held is None else held[0]

    def _held(self, unit: str, keep: bool, partition: int | None = None):
        held = self._cached(unit)
        if held is _MISSING:
            held = self._load(unit, partition)
            if held is None:
                return None
            if keep:
                self._remember(unit, held)
        return held

    def _load(self, unit: str, partition: int | None):
        head = key(self.name, "h", unit)
        if partition is None:
            partition = faust_internals.current_partition()
        if partition is None:  # a page: the database that has it, as faust looks
            partition = next((p for p in faust_internals.open_partitions(self.table)
                              if faust_internals.partition_db(self.table, p).get(head)
                              is not None), None)
            if partition is None:
                return None
        raw = faust_internals.partition_db(self.table, partition).get(head)
        if raw is None:
            return None
        if b"\n" in raw:  # the earlier layout: the header listed its entities' ids
            raise StateUnreadable(OLDER_STATE)
        filled, places = {}, {}
        for name, codec in self.entities.items():
            prefix = key(self.name, "e", name, unit, "")
            found, place = {}, _Places()
            for raw_key, value in prefix_items(self.table, partition, prefix):
                n, ident = _place(raw_key[len(prefix):])
                found[ident] = codec.loads(value)
                place.of[ident], place.next = n, n + 1
            filled[name], places[name] = found, place
        return evolve(self.header.loads(raw), **filled), places

    def __setitem__(self, unit: str, state) -> None:
        held = self._held(unit, keep=False)
        if held is None:
            old, places = None, {name: _Places() for name in self.entities}
        else:
            old, places = held
        partition = None
        for name, codec in self.entities.items():
            before = getattr(old, name) if old is not None else {}
            now = getattr(state, name)
            if now is before:
                continue
            place, indexes = places[name], self.indexes.get(name, ())
            if indexes and partition is None:
                partition = faust_internals.current_partition()
            for ident, value in now.items():
                was = before.get(ident)
                if was is value:
                    continue
                n = place.of.get(ident)
                if n is None:
                    n = place.of[ident] = place.next
                    place.next += 1
                self.table[self._entity_key(name, unit, n, ident)] = codec.dumps(value)
                for index in indexes:
                    index.changed(partition, unit, was, value)
            for ident in before.keys() - now.keys():
                del self.table[self._entity_key(name, unit, place.of.pop(ident), ident)]
                for index in indexes:
                    index.changed(partition, unit, before[ident], None)
        if old is None or evolve(old, **self.empty) != evolve(state, **self.empty):
            self.table[key(self.name, "h", unit)] = self.header.dumps(evolve(state, **self.empty))
        self._remember(unit, (state, places))

    def _entity_key(self, field: str, unit: str, n: int, ident: str) -> bytes:
        return key(self.name, "e", field, unit, f"{n:08x}", ident)

    def __delitem__(self, unit: str) -> None:
        raise NotImplementedError("a unit's state is never deleted")

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a table store is listed per partition: units_in(partition)")

    def __len__(self) -> int:
        raise TypeError("a table store is counted per partition")

    def unit_of(self, partitions, field: str, entity_id: str) -> str | None:
        """The unit holding ``entity_id`` among its ``field`` in one of ``partitions``: a scan
        of the field's keys (no index is written; a page asks this, never a record)."""
        prefix = key(self.name, "e", field, "")
        for partition in partitions:
            for found in prefix_keys(self.table, partition, prefix):
                unit, _, rest = found[len(prefix):].partition(SEP.encode())
                if _place(rest)[1] == entity_id:
                    return unit.decode()
        return None

    def units_in(self, partition: int) -> Iterator[str]:
        """The units with state in one partition's database."""
        prefix = key(self.name, "h", "")
        for raw in prefix_keys(self.table, partition, prefix):
            yield raw[len(prefix):].decode()

    def entities_in(self, partition: int, field: str) -> Iterator[tuple[str, Any]]:
        """Every unit's entities of ``field`` in one partition's database, each with its
        unit, decoded (not kept)."""
        codec, prefix = self.entities[field], key(self.name, "e", field, "")
        for raw_key, value in prefix_items(self.table, partition, prefix):
            unit = raw_key[len(prefix):].partition(SEP.encode())[0].decode()
            yield unit, codec.loads(value)


def _place(rest: bytes) -> tuple[int, str]:
    """An entity key's ``<n>␟<id>``: its place and its id."""
    n, sep, ident = rest.partition(SEP.encode())
    if not sep or len(n) != 8:
        raise StateUnreadable(OLDER_STATE)
    return int(n, 16), ident.decode()


class Index:
    """What a view or a gauge looks up across a units store's entities of one field, derived
    and never written: per partition, each entity's entry (``derive(unit_id, entity)``: a
    (name, value) pair, or None), made by one scan of the partition's entities when first asked
    and kept up to date as the units store writes them (``changed``). Dropped with the rest
    of what was decoded (``forget_cached_state``), and made again from the table."""

    def __init__(self, units: Units, field: str, derive) -> None:
        self.units, self.field, self.derive = units, field, derive
        self.cache: dict[int, dict[str, Any]] = {}
        holds_decoded_state(self)
        units.indexes.setdefault(field, []).append(self)

    def _of(self, partition: int) -> dict[str, Any]:
        found = self.cache.get(partition)
        if found is None:
            found = {}
            for unit, entity in self.units.entities_in(partition, self.field):
                if (entry := self.derive(unit, entity)) is not None:
                    found[entry[0]] = entry[1]
            self.cache[partition] = found
        return found

    def changed(self, partition: int | None, unit: str, old, new) -> None:
        found = self.cache.get(partition) if partition is not None else None
        if found is None:
            return  # made from the table when first asked, the write in it
        if old is not None and (entry := self.derive(unit, old)) is not None:
            found.pop(entry[0], None)
        if new is not None and (entry := self.derive(unit, new)) is not None:
            found[entry[0]] = entry[1]

    def items_in(self, partition: int) -> list[tuple[str, Any]]:
        return list(self._of(partition).items())


class Timelines(_Cached, MutableMapping):
    """Each partition's ``Timeline``. Its stream time is kept with the gate's clock
    (``PartitionTimes``: one write a batch for both, when either moved); its open deadlines
    are not written at all: the units' state holds them (``deadlines(state)``, declared with
    the store), so a timeline is made from its partition's units when first read, then kept."""

    def __init__(self, units: Units, deadlines, times: PartitionTimes) -> None:
        super().__init__(cache_entries=1 << 30)  # a partition's, however many
        self.units, self.deadlines, self.times = units, deadlines, times

    def __getitem__(self, partition: int) -> Timeline:
        timeline = self._cached(partition)
        if timeline is _MISSING:
            stream_time = self.times.get(partition)[1]
            pending = [deadline for unit in self.units.units_in(partition)
                       if (state := self.units.peek(unit, partition)) is not None
                       for deadline in self.deadlines(state)]
            timeline = (Timeline(stream_time, pending).track()
                        if stream_time is not None or pending else None)
            self.cache[partition] = timeline
        if timeline is None:
            raise KeyError(partition)
        return timeline

    def __setitem__(self, partition: int, timeline: Timeline) -> None:
        known = self._cached(partition) is timeline
        moved, _ = timeline.drain()
        if moved or not known:
            self.times.set(partition, 1, timeline.stream_time)
        if not known:
            timeline.track()
            self.cache[partition] = timeline

    def __delitem__(self, partition: int) -> None:
        raise NotImplementedError("a partition's timeline is never deleted")

    def __iter__(self) -> Iterator[int]:
        return (p for p, t in self.cache.items() if t is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

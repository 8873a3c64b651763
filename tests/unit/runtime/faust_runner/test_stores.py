"""A unit's state in its table: a header and one key per entity, written only when changed,
read back whole and in order; an entity's unit found by its id; what is derived from the
units (an index, a timeline's deadlines, the ids their state shows) never written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from kernel.deadlines import Deadline, Timeline
from kernel.frozen import evolve
from kernel.ids import digest
from runtime.faust_runner.batching import Staged
from runtime.faust_runner.faust_internals import as_current
from runtime.faust_runner.stores import (
    Clocks,
    Digests,
    PartitionTimes,
    Seen,
    StagedSeen,
    forget_cached_state,
)
from runtime.faust_runner.units import Index, StateUnreadable, Timelines, Units
from tests.unit.tables import NotingTable


@dataclass(frozen=True)
class Item:
    name: str
    n: int = 0


@dataclass(frozen=True)
class State:
    unit_id: str
    items: dict[str, Item] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _store(table) -> Units:
    return Units(table, "units", State, {"items": Item})


def _put(state: State, item: Item) -> State:
    return evolve(state, items={**state.items, item.name: item})


class _Event:
    """A faust event of a partition, as current when a worker writes."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def _entity(item: str, n: int) -> bytes:
    return f"units\x1fe\x1fitems\x1fchangtai\x1f{n:08x}\x1f{item}".encode()


def test_a_change_writes_the_changed_entity_and_the_header_only_when_it_changed():
    table = NotingTable()
    units = _store(table)
    state = _put(_put(State("changtai"), Item("a")), Item("b"))
    units["changtai"] = state
    assert sorted(table.writes) == [_entity("a", 0), _entity("b", 1), b"units\x1fh\x1fchangtai"]
    table.writes.clear()
    units["changtai"] = state = _put(state, Item("b", 1))  # one entity changes
    assert table.writes == [_entity("b", 1)]
    table.writes.clear()
    units["changtai"] = state = evolve(state, notes=("a note",))  # the header alone
    assert table.writes == [b"units\x1fh\x1fchangtai"]
    table.writes.clear()
    units["changtai"] = state = _put(state, Item("c"))  # a new one: its key alone
    assert table.writes == [_entity("c", 2)]
    fresh = _store(table)  # read back from the table, as after a restart
    assert fresh["changtai"] == state
    assert list(fresh["changtai"].items) == ["a", "b", "c"]  # in the order they came
    fresh["changtai"] = _put(fresh["changtai"], Item("d"))  # numbered after the last read
    assert table.writes[-1] == _entity("d", 3)


def test_state_of_the_earlier_layout_stops_the_worker_saying_how_to_move_over():
    table = NotingTable()
    table[b"units\x1fh\x1fchangtai"] = b'{"unit_id":"changtai","notes":[]}\n{"items":["a"]}'
    with pytest.raises(StateUnreadable, match="INSPECTIONS_APP_PREFIX"):
        _store(table)["changtai"]


def test_an_entitys_unit_is_found_by_its_id_and_the_units_are_listed():
    table = NotingTable()
    units = _store(table)
    units["changtai"] = _put(State("changtai"), Item("F-1"))
    units["pinghe"] = _put(State("pinghe"), Item("F-10"))  # an id the other's is a prefix of
    assert units.unit_of([0], "items", "F-1") == "changtai"
    assert units.unit_of([0], "items", "F-10") == "pinghe"
    assert units.unit_of([0], "items", "F-2") is None
    assert sorted(units.units_in(0)) == ["changtai", "pinghe"]


def test_an_index_is_made_from_the_entities_and_kept_as_they_are_written():
    table = NotingTable()
    units = _store(table)
    units["changtai"] = _put(_put(State("changtai"), Item("a", 1)), Item("b"))
    index = Index(units, "items", lambda unit, item: (item.name, item.n) if item.n else None)
    assert index.items_in(0) == [("a", 1)]  # made by a scan of the table
    writes = len(table.writes)
    state = _put(_put(units["changtai"], Item("a")), Item("c", 3))
    with as_current(_Event(0)):  # a worker writes with the record's event current
        units["changtai"] = _put(state, Item("b", 2))
    assert dict(index.items_in(0)) == {"b": 2, "c": 3}  # kept as they were written
    assert not any(b"index" in w for w in table.writes[writes:])  # and never written
    forget_cached_state()
    assert dict(index.items_in(0)) == {"b": 2, "c": 3}  # made again from the table


def test_a_timeline_keeps_its_stream_time_with_the_clock_and_its_deadlines_in_the_units():
    table = NotingTable()
    units = _store(table)
    t0 = datetime(2026, 4, 1, tzinfo=timezone.utc)

    def deadlines(state):  # an item with n > 0 has a deadline n days after t0
        return [Deadline(t0 + timedelta(days=i.n), i.name, state.unit_id)
                for i in state.items.values() if i.n]

    times = PartitionTimes(table)
    clocks, timelines = Clocks(times), Timelines(units, deadlines, times)
    with as_current(_Event(0)):  # a batch's flush, then its times written once
        units["changtai"] = _put(_put(State("changtai"), Item("a", 2)), Item("b"))
        timeline = Timeline(t0).track()
        timeline.apply([Deadline(t0 + timedelta(days=2), "a", "changtai")])
        timelines[0] = timeline
        clocks["0"] = t0
        times.write()
    assert table.writes[-1] == b"times\x1f0" and table.writes.count(b"times\x1f0") == 1
    writes = len(table.writes)
    timeline.apply([Deadline(t0 + timedelta(days=5), "c", "changtai")], ["a"])
    timelines[0] = timeline  # deadlines changed, stream time did not: nothing written
    times.write()
    assert len(table.writes) == writes
    with as_current(_Event(0)):
        timeline.move_to(t0 + timedelta(days=1))
        units["changtai"] = _put(_put(units["changtai"], Item("a")), Item("c", 5))
        timelines[0] = timeline
        clocks["0"] = t0 + timedelta(days=1)
        times.write()
    assert table.writes[-1] == b"times\x1f0"  # the times, once for both
    forget_cached_state()
    assert timelines[0] == timeline  # read back: the time, and the units' deadlines
    assert clocks["0"] == t0 + timedelta(days=1)


def test_an_id_the_units_state_shows_is_not_written_and_is_seen_after_a_restart():
    table = NotingTable()
    units = _store(table)

    def shown(state):
        return [f"made-{name}" for name in state.items]

    seen = Seen(table, "seen", units=units, shown=shown)
    batch = SimpleNamespace(event=_Event(0))
    staged = StagedSeen(Staged(seen, batch))
    assert not staged.check(b"changtai", 0, "made-a")
    staged.shown(b"changtai", 0, "made-a")  # its entity shows it
    assert not staged.check(b"changtai", 0, "other")  # nothing shows this one
    assert staged.check(b"changtai", 0, "made-a")  # a repeat in the same batch
    units["changtai"] = _put(State("changtai"), Item("a"))
    staged.staged.flush()
    assert [w for w in table.writes if w.startswith(b"seen")] == [b"seen\x1fkey:changtai\x1f000000"]
    assert Digests.of([table[b"seen\x1fkey:changtai\x1f000000"]]).order == [digest("other")]
    forget_cached_state()  # as after a restart: both seen, one from the chunk, one shown
    again = StagedSeen(Staged(seen, batch))
    assert again.check(b"changtai", 0, "made-a") and again.check(b"changtai", 0, "other")


def test_the_in_memory_store_packs_idle_units_and_gives_back_what_was_set():
    from runtime.memory_runner.stores import Compact

    store = Compact(decoded=2)
    states = {f"u{i}": _put(State(f"u{i}"), Item("a", i)) for i in range(5)}
    for unit, state in states.items():
        store[unit] = state
    assert list(store.cache) == ["u3", "u4"]  # the most recently used, decoded
    assert set(store.packed) == {"u0", "u1", "u2"}  # the rest packed when they left
    assert store["u0"] == states["u0"] and store["u0"] is store["u0"]  # decoded once, kept
    store["u0"] = changed = _put(states["u0"], Item("b"))
    for unit in ("u1", "u2", "u3"):  # u0 leaves the decoded ones: packed again, changed
        store.get(unit)
    assert "u0" not in store.cache and store["u0"] == changed
    assert dict(store.items()) == {**states, "u0": changed}
    assert len(store) == 5 and "u4" in store and "u9" not in store

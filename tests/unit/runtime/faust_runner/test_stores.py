"""A unit's state in its table: a header and one key per entity, written only when changed,
read back whole; an entity's unit found by its id."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.frozen import evolve
from runtime.faust_runner.stores import Units
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


def test_a_change_writes_the_changed_entity_and_the_header_only_when_it_changed():
    table = NotingTable()
    units = _store(table)
    state = _put(_put(State("changtai"), Item("a")), Item("b"))
    units["changtai"] = state
    assert sorted(table.writes) == [b"units\x1fe\x1fitems\x1fa\x1fchangtai",
                                    b"units\x1fe\x1fitems\x1fb\x1fchangtai",
                                    b"units\x1fh\x1fchangtai"]
    table.writes.clear()
    units["changtai"] = state = _put(state, Item("b", 1))  # one entity changes
    assert table.writes == [b"units\x1fe\x1fitems\x1fb\x1fchangtai"]
    table.writes.clear()
    units["changtai"] = state = evolve(state, notes=("a note",))  # the header alone
    assert table.writes == [b"units\x1fh\x1fchangtai"]
    table.writes.clear()
    units["changtai"] = state = _put(state, Item("c"))  # a new one: its key and the order
    assert sorted(table.writes) == [b"units\x1fe\x1fitems\x1fc\x1fchangtai",
                                    b"units\x1fh\x1fchangtai"]
    fresh = _store(table)  # read back from the table, as after a restart
    assert fresh["changtai"] == state
    assert list(fresh["changtai"].items) == ["a", "b", "c"]  # in the order they came


def test_an_entitys_unit_is_found_by_its_id_and_the_units_are_listed():
    table = NotingTable()
    units = _store(table)
    units["changtai"] = _put(State("changtai"), Item("F-1"))
    units["pinghe"] = _put(State("pinghe"), Item("F-10"))  # an id the other's is a prefix of
    assert units.unit_of([0], "items", "F-1") == "changtai"
    assert units.unit_of([0], "items", "F-10") == "pinghe"
    assert units.unit_of([0], "items", "F-2") is None
    assert sorted(units.units_in(0)) == ["changtai", "pinghe"]


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

"""A service declared once: the topics it reads and the flow's handler of each, where each kind
of fact it derives goes, and the state it keeps. The faust worker (``runtime.faust_runner.worker``)
and the in-memory runner (``runtime.memory_runner.memory``: replay, audit, the benchmark's cores,
the tests) run the same declarations, the way one ``System`` runs under interchangeable runners.

A flow is plain Python with a handler per topic it reads, ``handler(ctx, value)``: ``ctx``
gives the record's partition and key, the service's stores by name, ``seen(event_id)`` and
``emit(fact)``; the runner decides where a fact goes by its type (``Write``), and what a store
is (a faust table, a dict).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Read:
    """A topic the service reads (its canonical name) and the flow's handler for its values,
    a function of the flow's class (``FindingsFlow.on_event``) that a runner calls as
    ``handler(flow, ctx, value)``.

    ``contract``: the inbound topic, each record through the gate. Otherwise ``decode``
    turns a record's bytes into the values it holds (an unreadable one: none), and
    ``take(fact, service)`` turns a fact a service emitted into the same value when a runner
    hands it over in memory. ``partitioned``: the topic has the inbound topic's partitions and keys
    (a record's state lives in its partition); otherwise it has one partition, where what crosses
    partitions meets. ``skip_source``: the service whose records are skipped (this one, which
    applied what it derived when it derived it; a value's ``source`` says)."""

    topic: str
    handler: Callable[[Any, Any, Any], None]
    contract: bool = False
    partitioned: bool = True
    decode: Callable[[bytes], list] | None = None
    take: Callable[[Any, str], Any] | None = None
    skip_source: str | None = None


@dataclass(frozen=True)
class Write:
    """Where a kind of derived fact goes. ``topic``: a canonical topic name (None: nowhere,
    only reported). ``encode(fact, service)``: the event (a dict) for a unit-keyed topic, or
    for a one-partition topic the bytes of one packed value; ``key(fact)``: the record key
    (None: the one-partition topic's, packed with the batch's others). ``report(fact,
    service)``: what a worker counts and logs of it."""

    kind: type
    topic: str | None
    encode: Callable[[Any, str], Any] | None = None
    key: Callable[[Any], bytes] | None = None
    report: Callable[[Any, str], None] | None = None


@dataclass(frozen=True)
class Store:
    """State the service keeps: ``partitioned`` stores live beside the inbound topic's
    partitions (a unit's state in its partition), the others in the one partition of the
    service's cross-partition side. ``kind`` says what a runner makes of it:

    - ``units``: a frozen value per unit; ``entities`` names its fields that map ids to
      values, each kept under a key of its own (``entity_types`` gives each field's type);
    - ``timelines``: each partition's stream time and open deadlines; ``derive(state)``, the
      deadlines a unit's state (in the units store ``of``) has open, which a runner that
      writes its state need not write;
    - ``seen``: the event ids already processed, per record key; ``derive(state)``, the ids
      a unit's state (in ``of``) shows applied (``kernel.deadlines.process``), not written;
    - ``index``: derived from the units store ``of``, never written: each entity of its
      ``field`` gives ``derive(unit_id, entity)``, a (name, value) entry, or None (the open
      escalations, the visits' states); read by views and gauges (``Shelf.entries``);
    - ``values``: plain values by key (``value_type``);
    - ``custom``: ``value_type(table, name, cache_entries)`` is the store (a faust worker's);
      a dict elsewhere."""

    name: str
    kind: str
    partitioned: bool = True
    value_type: Any = None
    entities: tuple[str, ...] = ()
    entity_types: tuple[Any, ...] = ()
    of: str | None = None
    field: str | None = None
    derive: Callable[[Any], Any] | None = None


UNIT, EVERY, SIDE = "unit", "every", "side"  # a view's scope (``View``)


@dataclass(frozen=True)
class View:
    """A view of the service's state that operators read, declared once: served over HTTP at
    ``path`` (its ``{params}`` are the request's), answered in memory, written by a replay.

    ``scope`` says where its state is: ``UNIT``, one unit's (the ``unit_id`` param; the
    owner of its partition answers); ``EVERY``, any partition's (every worker of the group
    answers for its own, scatter-gather); ``SIDE``, the cross-partition side's (its owner
    answers). The functions are of the service's read model (``Service.read_model``), called
    as ``fn(model, ...)``, and pure:

    - ``local(model, shelf, asked)``: what one part of the state (a ``Shelf``) holds of the
      view, a list; a bad request raises ``ValueError`` (a 400, before any other is asked);
    - ``answer(model, found, asked)``: the view from every part's ``found``; None: there is
      none, a 404 saying that ``missing`` (formatted with the params) was not found;
      ``ValueError``: a 400.

    ``rows``: the name of a ``UNIT`` view of the service whose answers the view shows for the
    unit ids ``local`` names (``local`` gives ``(item, unit_ids)`` pairs; ``asked.rows``
    holds the rows for ``answer``).

    A replay writes the views that name a ``file``: ``each(model, shelf)`` lists each part's
    ``(id, item)``; with ``whole(model, id, items, rows)`` the items of one id (from every
    part) make its view, else the item is the view. Written sorted by id, a view a line;
    ``floats``: its views hold floats (shares), which only the kernel's JSON writes
    canonically."""

    name: str
    path: str
    scope: str
    local: Callable[..., list]
    answer: Callable[..., Any]
    missing: str = ""
    rows: str | None = None
    file: str | None = None
    each: Callable[..., Any] | None = None
    whole: Callable[..., Any] | None = None
    floats: bool = False

    def what_is_missing(self, params: Mapping[str, str]) -> str:
        """What a 404 says was not found (``missing`` with the request's params)."""
        return self.missing.format(**params) if self.missing else self.name

    @property
    def params(self) -> tuple[str, ...]:
        """The names in its path's braces (a written view's last one: its views' id)."""
        return tuple(re.findall(r"\{(\w+)\}", self.path))


def first_found(model: Any, found: list, asked: Any) -> Any:
    """A ``View.answer`` for a view of one thing: the item a part found, None when none did."""
    return found[0] if found else None


@dataclass(frozen=True)
class Asked:
    """A request of a view: its path's ``params``, its ``query`` and (``View.rows``) the
    rows of the units its local part named."""

    params: Mapping[str, str]
    query: Mapping[str, str]
    rows: Mapping[str, Any] | None = None


class Shelf(Protocol):
    """One part of a service's state, as a view reads it: a faust worker's partitions, or a
    whole in-memory run."""

    def unit(self, store: str, unit_id: str) -> Any: ...  # a unit's state, or None

    def holder(self, store: str, field: str, ident: str) -> Any: ...  # the unit holding it

    def units(self, store: str) -> Iterator[Any]: ...  # every unit's state

    def entries(self, store: str) -> Iterator[tuple[str, Any]]: ...  # a values or index store's

    def side(self, store: str) -> Mapping[str, Any] | None: ...  # None: not held here

    def stream_time(self) -> Any: ...  # the latest of its partitions' (a datetime or None)


@dataclass(frozen=True)
class Service:
    name: str
    reads: tuple[Read, ...]
    writes: tuple[Write, ...]
    stores: tuple[Store, ...]
    flow: Callable[[Any], Any]  # settings -> the flow object
    publishes_rejections: bool = False
    views: tuple[View, ...] = ()
    read_model: Callable[[Any], Any] | None = None  # settings -> what answers its views
    serve: Callable[[Any], None] | None = None  # what only a worker has: gauges, timers
    # Its worker adopts its starting policy into the log when the log holds none (one service).
    adopts_policy: bool = False

    def view(self, name: str) -> View:
        for view in self.views:
            if view.name == name:
                return view
        raise KeyError(f"{self.name} has no view {name!r}")

    def write_for(self, fact: Any) -> Write:
        for write in self.writes:
            if isinstance(fact, write.kind):
                return write
        raise TypeError(f"{self.name} has no topic for {type(fact).__name__}")

    def stores_of(self, partitioned: bool) -> tuple[Store, ...]:
        return tuple(s for s in self.stores if s.partitioned == partitioned)


@dataclass(frozen=True)
class System:
    services: tuple[Service, ...]

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(s.name for s in self.services)
        raise KeyError(f"unknown service {name!r}; services: {known}")

    def readers(self, topic: str) -> list[tuple[Service, Read]]:
        return [(s, r) for s in self.services for r in s.reads if r.topic == topic]


class Context(Protocol):
    """What a flow's handler gets with each record."""

    partition: int
    key: bytes | None

    def store(self, name: str) -> MutableMapping: ...

    def seen(self, event_id: str) -> bool: ...

    def shown(self, event_id: str) -> None: ...

    def emit(self, fact: Any) -> None: ...

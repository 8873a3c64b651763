"""Every private part of faust-streaming the runtime leans on, in one place.

faust 0.15 gives no public way to take a stream's records in batches of our own, to file a
table write under another record's partition, to read the offsets its consumer committed or
sought to, or to keep it from committing past a record not yet processed. These do, through
its internals; faust-streaming is pinned exactly (``pyproject.toml``) and ``check()`` fails
loudly on any other version (a test calls it), so that an upgrade re-reads each one first.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PINNED = "0.15.3"

# What the helpers below touch, for ``check()``: (module, class or None, attribute).
_USED = (
    ("faust.streams", None, "_current_event"),
    ("faust.transport.consumer", "Consumer", "_committed_offset"),
    ("faust.transport.consumer", "Consumer", "_gap"),
    ("faust.transport.consumer", "Consumer", "seek_wait"),
    ("faust.streams", "Stream", "_processors"),
    ("faust.streams", "Stream", "_enable_passive"),
    ("faust.stores.rocksdb", "Store", "_db_for_partition"),
    ("faust.stores.rocksdb", "Store", "_dbs"),
    ("faust.stores.rocksdb", "Store", "_set"),  # overridden: runtime.faust_runner.rocks
    ("faust.stores.rocksdb", "Store", "_del"),
    ("faust.stores.rocksdb", "Store", "_dbs_for_key"),
    ("faust.stores.rocksdb", "Store", "_open_for_partition"),
    ("faust.app.base", "App", "assignor"),
    ("faust.tables.base", "Collection", "send_changelog"),  # wrapped: .writes
    ("faust.transport.producer", "ProducerBuffer", "max_messages"),
    ("faust.app.base", "App", "rebalancing"),
    ("faust.app.base", "App", "in_recovery"),
)


class UnsupportedFaust(RuntimeError):
    pass


def check() -> None:
    """Raise unless the installed faust-streaming is the pinned version and has every
    internal used here."""
    from importlib import import_module
    from importlib.metadata import version

    found = version("faust-streaming")
    if found != PINNED:
        raise UnsupportedFaust(
            f"faust-streaming {found} is installed; the runtime uses internals of {PINNED} "
            f"(runtime/faust_runner/faust_internals.py): install {PINNED}, or check each "
            "internal against the new version before moving the pin")
    for module, cls, name in _USED:
        owner = import_module(module)
        if cls is not None:
            owner = getattr(owner, cls)
        if not hasattr(owner, name) and name not in _annotations(owner):
            where = ".".join(part for part in (module, cls) if part)
            raise UnsupportedFaust(f"faust-streaming {found} lacks {where}.{name}")


def _annotations(cls) -> set[str]:
    """Attributes a class declares (set in ``__init__``, so not on the class itself)."""
    return {name for klass in getattr(cls, "__mro__", ())
            for name in getattr(klass, "__annotations__", {})}


# -- the current event: faust files a table write under the current event's partition --------
@contextmanager
def as_current(event) -> Iterator[None]:
    """Make ``event`` faust's current event for the writes made inside."""
    from faust.streams import _current_event

    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def current_event():
    """faust's current event (a table write is filed under its partition), if any."""
    from faust.streams import current_event

    return current_event()


def current_partition() -> int | None:
    """The partition of faust's current event, if any."""
    event = current_event()
    return None if event is None else event.message.partition


# -- the consumer's offsets -------------------------------------------------------------------
def committed_offsets(app) -> dict:
    """The offsets faust's consumer sought to or committed (the next to read), by TP."""
    return getattr(app.consumer, "_committed_offset", {})


def keep_gaps_from(app, tp, want: int, found_empty_until: int) -> None:
    """faust counts the offsets of its ``_gap`` intervals as acknowledged: drop its gaps from
    ``want`` on (records are still to come there), and add ``want``..``found_empty_until``
    when those offsets were found to hold no record."""
    gaps = app.consumer._gap
    tree = gaps.get(tp)
    if tree:
        for interval in tree.overlap(want, sys.maxsize):
            tree.remove(interval)
    if found_empty_until > want:
        gaps[tp].addi(want, found_empty_until)


def producer_room(app, messages: int) -> None:
    """Let ``messages`` table writes wait in faust's producer buffer before every stream
    stops to let it drain (faust's default, 100, stalls at each batch's state writes)."""
    app.producer.buffer.max_messages = messages


def known_ends(app, tps: list) -> dict:
    """The partitions' end offsets as the consumer last heard them from its fetches (no
    request to the broker: None where it has not fetched the partition)."""
    consumer = app.consumer
    return {tp: consumer.highwater(tp) for tp in tps}


async def end_offsets(app, tps: list) -> dict:
    """The partitions' end offsets: those the consumer last heard of from its fetches, the
    broker asked only for the others (a request to the consumer's thread holds up its
    fetching: a latency spike each time)."""
    ends = known_ends(app, tps)
    unknown = [tp for tp, end in ends.items() if end is None]
    if unknown:
        ends.update(await app.consumer.highwaters(*unknown))
    return ends


async def first_offsets(app, tps: list) -> dict:
    """The partitions' first offsets (the broker asked, in the consumer's thread)."""
    return dict(await app.consumer.earliest_offsets(*tps))


def settled(app) -> bool:
    """Neither rebalancing nor recovering tables: faust has sought to the committed offsets."""
    return not getattr(app, "rebalancing", False) and not getattr(app, "in_recovery", False)


async def seek_back(app, tp, offset: int) -> None:
    """Seek in the consumer's own thread (faust's ``seek()`` calls aiokafka from this one)."""
    await app.consumer.seek_wait({tp: offset})


# -- a stream's records, taken by a processor of our own -------------------------------------------
def take_over(stream, processor: Callable[[Any], Any]) -> Callable[[], None]:
    """Run ``processor`` on each of ``stream``'s values and drain it passively (as faust's own
    ``take_events`` does); acks are left to the caller. Returns what undoes it."""
    acks_before = stream.enable_acks
    stream.enable_acks = False
    stream.add_processor(processor)
    stream._enable_passive(aiter(stream.channel))

    def undo() -> None:
        stream.enable_acks = acks_before
        stream._processors.remove(processor)

    return undo


# -- the RocksDB store's databases ---------------------------------------------------------------
def partition_db(table, partition: int):
    """The rocksdict database of one of ``table``'s partitions (opened if need be)."""
    return table.data._db_for_partition(partition)


def open_partitions(table) -> list[int]:
    """The partitions whose databases the table's store has open here (actives and standbys)."""
    return sorted(table.data._dbs)


class ChangelogRefused(RuntimeError):
    """A state change the broker did not take: its changelog no longer holds the state."""


def stop_on_changelog_failure(app, changelogs: set[str]) -> None:
    """Crash ``app`` (the worker stops, saying why) when a write to one of ``changelogs``
    fails. faust logs such a failure as a warning and goes on (it does not even call the
    table's callback), and the state silently stops being replicated: a restarted or moved
    worker would then diverge from what was derived."""
    import asyncio

    from faust.sensors import Sensor

    from runtime.plumbing import logs

    class Guard(Sensor):
        def on_send_initiated(self, producer, topic, message, keysize, valsize):
            return topic

        def on_send_error(self, producer, exc, state) -> None:
            if state not in changelogs:
                return
            logs.get(__name__).critical(
                "a state change was refused by its changelog: the worker stops rather than "
                "diverge; see the error, fix the cause and start it again",
                topic=state, error=f"{type(exc).__name__}: {exc}"[:500])
            asyncio.ensure_future(app.crash(ChangelogRefused(
                f"the changelog {state} refused a write: {type(exc).__name__}: {exc}")))

    app.sensors.add(Guard())

"""A batch's state writes, whole or not at all, in a worker's databases and in their changelogs.

faust writes each table key to its partition's RocksDB database at once and queues the key's
changelog record; at start-up it applies again the changelog records after the last one whose
acknowledgement it saw. A worker killed (SIGKILL, a power cut) could come back with a state no
batch ever left, or leave a changelog behind its state:

- killed in the middle of a batch's writes, a database held some of the batch's keys and not
  the others; the batch, delivered again, found some of its events already seen and skipped
  them, their other keys never written (an escalation closed twice was seen so);
- killed once an earlier batch's changelog records were acknowledged but not yet counted, the
  restart applied them again over later values of the same keys (a unit's seen ids, a
  partition's times: keys most batches write), and part of the state went back;
- killed right after a batch's writes, before all their changelog records were sent, the
  database kept them but the changelog never got the rest: a worker that rebuilds the
  partition from it (on another host, or after its disk is lost) lacks them.

So, per partition database a batch writes to (``runtime.faust_runner.rocks.Store`` calls
``before_write``), local keys under ``PREFIX`` that no changelog carries:

- while the batch writes, the phase ``writing`` and, before each key's first write, its value
  before (``undo``). A database opened in this phase is put back as it was before the batch
  (``opened``): none of the batch's changelog records was sent (they are queued while the
  writes go on, which never yield to the event loop), and the batch is delivered again;
- once every key is written, the phase ``sending`` (the ``undo`` keys now list what the batch
  wrote). A database opened in this phase is whole; the keys are sent to its changelog again
  with their values (``acknowledged``, before the next batch writes), and only then unmarked;
- no batch writes before the changelog records of the batch before are acknowledged and
  counted (``acknowledged``); then its marks go. A restart applies again at most records of
  the last batch, with the values it wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PREFIX = b"\x00inspections:"  # sorts before every key of the stores
PHASE = PREFIX + b"phase"
UNDO = PREFIX + b"undo:"
UNDO_END = PREFIX + b"undo;"  # the first key after every UNDO key
WRITING, SENDING = b"writing", b"sending"
ABSENT, PRESENT = b"\x00", b"\x01"


class _Marked:
    """A database a batch wrote to (its store's, of ``partition``): the keys it wrote."""

    __slots__ = ("store", "partition", "db", "keys")

    def __init__(self, store, partition: int, db) -> None:
        self.store, self.partition, self.db = store, partition, db
        self.keys: set[bytes] = set()


class _Writing:
    __slots__ = ("marked", "sent")

    def __init__(self) -> None:
        self.marked: dict[int, _Marked] = {}  # id(db) -> the db and its keys
        self.sent: list[asyncio.Future] = []  # the batch's changelog records


_now: _Writing | None = None  # the batch writing, if any (one at a time: ``Host.applying``)
_last: _Writing | None = None  # the batch before: its records to await, its marks to clear
_resend: list[tuple[Any, int, Any]] = []  # (store, partition, db) whose keys to send again


def before_write(store, partition: int, db, key: bytes) -> None:
    """Before ``key`` is written to (or deleted from) ``db``, ``store``'s database of
    ``partition``: while a batch writes, its phase the first time, and the key's value
    before, the first time."""
    writing = _now
    if writing is None:
        return
    marked = writing.marked.get(id(db))
    if marked is None:
        db.put(PHASE, WRITING)
        marked = writing.marked[id(db)] = _Marked(store, partition, db)
    if key not in marked.keys:
        old = db.get(key)
        db.put(UNDO + key, ABSENT if old is None else PRESENT + old)
        marked.keys.add(key)


def sending(table) -> None:
    """Keep each changelog record ``table`` sends while a batch writes."""
    send = table.send_changelog

    def send_changelog(*args, **kwargs):
        future = send(*args, **kwargs)
        if _now is not None:
            _now.sent.append(future)
        return future

    table.send_changelog = send_changelog


@contextmanager
def whole() -> Iterator[None]:
    """The writes of one batch. If they fail, what they wrote is put back at once, and sent
    again to the changelogs (some of their records were queued) before the next batch
    writes."""
    global _now, _last
    writing = _now = _Writing()
    try:
        yield
    except BaseException:
        for marked in writing.marked.values():
            _undo(marked.db, keep=True)
            _resend.append((marked.store, marked.partition, marked.db))
        raise
    else:
        for marked in writing.marked.values():
            marked.db.put(PHASE, SENDING)
        _last = writing
    finally:
        _now = None


async def acknowledged() -> None:
    """Before a batch writes: the keys of databases opened in phase ``sending`` sent to their
    changelogs again; every changelog record of the batch before (and of those) acknowledged,
    and counted by faust (it does as each acknowledgement comes); then their marks cleared.
    A failed send stops the worker (``faust_internals.stop_on_changelog_failure``)."""
    global _last
    last, _last = _last, None
    resent = _send_again()
    pending = [f for f in (*(last.sent if last else ()), *(f for _, f in resent))
               if not f.done()]
    if pending:
        await asyncio.wait(pending)
    for db in {id(d): d for d in (*(m.db for m in (last.marked.values() if last else ())),
                                  *(d for d, _ in resent))}.values():
        _clear(db)


def _send_again() -> list[tuple[Any, asyncio.Future]]:
    global _resend
    todo, _resend = _resend, []
    out = []
    for store, partition, db in todo:
        if not store.active(partition):  # a standby: the active one's writes are newer
            _clear(db)
            continue
        table = store.table
        try:
            keys = [k[len(UNDO):] for k in _undo_keys(db)]
            values = [(k, db.get(k)) for k in keys]
        except Exception:  # closed: the partition went elsewhere; marked, it is seen again
            continue
        for k, value in values:
            if value is None:
                future = table.send_changelog(partition, k, None, value_serializer="raw")
            else:
                future = table.send_changelog(partition, k, value)
            out.append((db, future))
        if not values:
            out.append((db, _done()))
    return out


def _done() -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


def opened(store, partition: int, db) -> str | None:
    """``store``'s database of ``partition``, just opened: put back as it was before a batch
    cut short in its writes (``"undone"``), or, whole after its writes, its keys sent again
    before the next batch writes, if the partition is this worker's (``"resending"``); None
    when no batch left its mark."""
    phase = db.get(PHASE)
    if phase is None:
        return None
    if phase == WRITING:
        _undo(db)
        return "undone"
    _resend.append((store, partition, db))
    return "resending"


def _undo_keys(db) -> Iterator[bytes]:
    for found in db.keys(from_key=UNDO):
        if found >= UNDO_END:
            return
        yield found


def _undo(db, keep: bool = False) -> None:
    """Every key the batch wrote back to its value before; the marks cleared (``keep``: the
    keys kept listed, in phase ``sending``, to be sent again)."""
    for found, before in list(db.items(from_key=UNDO)):
        if found >= UNDO_END:
            break
        key = found[len(UNDO):]
        if before[:1] == ABSENT:
            db.delete(key)
        else:
            db.put(key, before[1:])
    if keep:
        db.put(PHASE, SENDING)
    else:
        _clear(db)


def _clear(db) -> None:
    try:
        db.delete_range(UNDO, UNDO_END)
        db.delete(PHASE)
    except Exception:  # closed: the partition went elsewhere; marked, it is seen again
        pass

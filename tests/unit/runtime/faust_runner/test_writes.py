"""A batch's state writes whole or not at all (``runtime.faust_runner.writes``), on a real
RocksDB database (rocksdict in raw mode, as faust opens it): a batch cut in its writes is put
back when its database opens; one whole in its writes has its keys sent to the changelog again
after a restart; no batch writes before the batch before's changelog records are
acknowledged."""

from __future__ import annotations

import asyncio
import shutil
import tempfile

import pytest

from runtime.faust_runner import writes


@pytest.fixture(autouse=True)
def _fresh():
    writes._now, writes._last, writes._resend = None, None, []
    yield
    writes._now, writes._last, writes._resend = None, None, []


class Database:
    """A partition's database that can be closed as a kill leaves it and opened again."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="writes-")
        self.db = self._open()

    def _open(self):
        from rocksdict import Options, Rdict

        options = Options(raw_mode=True)
        options.create_if_missing(True)
        return Rdict(self.path, options=options)

    def reopen(self):
        self.db.close()
        self.db = self._open()
        return self.db

    def state(self) -> dict:
        return dict(self.db.items())

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def database():
    made = Database()
    yield made
    made.close()


class Store:
    """What ``writes`` asks of a table's store: its table (whose changelog sends are noted,
    each answered at once or left pending) and whether a partition is its own."""

    def __init__(self, active: bool = True, answer: bool = True) -> None:
        self.sent: list[tuple] = []
        self.pending: list[asyncio.Future] = []
        self.is_active, self.answer = active, answer
        self.table = self

    def active(self, partition: int) -> bool:
        return self.is_active

    def send_changelog(self, partition, key, value, key_serializer=None,
                       value_serializer=None):
        self.sent.append((partition, key, value))
        future = asyncio.get_running_loop().create_future()
        if self.answer:
            future.set_result(None)
        else:
            self.pending.append(future)
        return future


def _write(store, db, key: bytes, value: bytes | None) -> None:
    """A store's write as ``runtime.faust_runner.rocks.Store`` makes it."""
    writes.before_write(store, 0, db, key)
    if value is None:
        db.delete(key)
    else:
        db.put(key, value)


def _marks(db) -> list[bytes]:
    return [k for k in db.keys() if k.startswith(writes.PREFIX)]


def test_a_batch_cut_short_in_its_writes_is_put_back_when_its_database_opens(database):
    db, store = database.db, Store()
    db.put(b"seen", b"1,2")
    db.put(b"unit", b"old")
    before = database.state()
    writes._now = writes._Writing()  # a batch writing, as ``whole`` begins it
    _write(store, db, b"unit", b"new")
    _write(store, db, b"unit", b"newer")  # a key written twice keeps its first value before
    _write(store, db, b"escalation", b"raised")
    _write(store, db, b"seen", None)
    writes._now = None  # killed here: the batch never ends
    db = database.reopen()
    assert db.get(b"unit") == b"newer"  # as the kill left it
    assert writes.opened(store, 0, db) == "undone"
    assert database.state() == before
    assert _marks(db) == []
    assert writes.opened(store, 0, database.reopen()) is None  # once is enough


def test_a_batch_whole_in_its_writes_sends_its_keys_again_after_a_restart(database):
    db, store = database.db, Store()
    db.put(b"gone", b"x")
    with writes.whole():
        _write(store, db, b"unit", b"new")
        _write(store, db, b"gone", None)
    written = database.state()
    db = database.reopen()  # killed before the batch's changelog records were acknowledged
    assert writes.opened(store, 3, db) == "resending"
    assert {k: v for k, v in database.state().items() if not k.startswith(writes.PREFIX)} == \
        {k: v for k, v in written.items() if not k.startswith(writes.PREFIX)}
    asyncio.run(writes.acknowledged())
    assert sorted(store.sent, key=repr) == sorted([(3, b"gone", None), (3, b"unit", b"new")],
                                                  key=repr)
    assert _marks(db) == []


def test_a_standby_sends_nothing_again_and_forgets_the_marks(database):
    db, store = database.db, Store(active=False)
    with writes.whole():
        _write(store, db, b"unit", b"new")
    db = database.reopen()
    assert writes.opened(store, 0, db) == "resending"
    asyncio.run(writes.acknowledged())
    assert store.sent == [] and _marks(db) == [] and db.get(b"unit") == b"new"


def test_writes_that_fail_are_put_back_at_once_and_sent_again(database):
    db, store = database.db, Store()
    db.put(b"unit", b"old")
    with pytest.raises(OSError), writes.whole():
        _write(store, db, b"unit", b"new")
        _write(store, db, b"escalation", b"raised")
        raise OSError("disk full")
    assert db.get(b"unit") == b"old" and db.get(b"escalation") is None
    asyncio.run(writes.acknowledged())  # the changelog may have had the new values queued
    assert sorted(store.sent, key=repr) == sorted([(0, b"escalation", None),
                                                   (0, b"unit", b"old")], key=repr)
    assert _marks(db) == []


def test_no_batch_writes_before_the_changelog_records_of_the_batch_before_are_acknowledged(
        database):
    db = database.db
    store = Store(answer=False)
    writes.sending(store.table)

    async def run() -> None:
        with writes.whole():
            _write(store, db, b"unit", b"1")
            store.table.send_changelog(0, b"unit", b"1")  # as faust's table does
        waiting = asyncio.ensure_future(writes.acknowledged())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the record is not acknowledged yet
        assert db.get(writes.PHASE) == writes.SENDING
        store.pending[0].set_result(None)
        await asyncio.wait_for(waiting, 5)
        assert _marks(db) == []

    asyncio.run(run())

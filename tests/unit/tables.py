"""A faust table of bytes as the stores see it, for their unit tests: a real RocksDB
(rocksdict in raw mode, as faust opens it) of one partition, noting each write (its key) and
each delete (``("deleted", key)``) in order."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from types import SimpleNamespace


class NotingTable:
    def __init__(self) -> None:
        from rocksdict import Options, Rdict

        options = Options(raw_mode=True)
        options.create_if_missing(True)
        path = tempfile.mkdtemp(prefix="table-")
        self.db = Rdict(path, options=options)
        weakref.finalize(self, _remove, self.db, path)
        # What faust's RocksDB store gives the stores' scans (runtime.faust_runner.faust_internals).
        self.data = SimpleNamespace(_db_for_partition=lambda partition: self.db,
                                    _dbs={0: self.db})
        self.writes: list = []

    def get(self, key: bytes, default=None):
        value = self.db.get(key)
        return default if value is None else value

    def __getitem__(self, key: bytes) -> bytes:
        value = self.db.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes.append(key)
        self.db[key] = value

    def __delitem__(self, key: bytes) -> None:
        self.writes.append(("deleted", key))
        del self.db[key]

    def __contains__(self, key: bytes) -> bool:
        return self.db.get(key) is not None

    def __iter__(self):
        return iter(list(self.db.keys()))


def _remove(db, path: str) -> None:
    db.close()
    shutil.rmtree(path, ignore_errors=True)

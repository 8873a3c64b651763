"""The workers' table store: faust's RocksDB store (rocksdict) with one memory budget per
worker.

faust opens a RocksDB database per table partition, each with its own block cache and
memtables: a worker's memory then grew with every partition and table it held (the
scheduler's 27 databases could reach 18 MiB each) and took a long run to reach its ceiling.
Here every database of the process shares one block cache, and their memtables are charged to
it (RocksDB's write buffer manager), so RocksDB's memory stays under one figure
(``INSPECTIONS_ROCKSDB_MEMORY_BYTES``) however many partitions a worker owns.

Each batch's writes are whole or not at all, in the databases and in their changelogs
(``runtime.faust_runner.writes``): the store tells it of every write, and of every database it
opens.

Registered as faust store ``inspections://`` (the ``faust.stores`` entry point).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import rocksdict
from faust.stores import rocksdb as faust_rocksdb

from runtime.faust_runner import faust_internals, writes
from runtime.plumbing import logs

SCHEME = "inspections://"


@cache
def budget(memory_bytes: int) -> tuple[rocksdict.Cache, rocksdict.WriteBufferManager]:
    """The process's block cache and write buffer manager (one pair per budget size)."""
    shared = rocksdict.Cache(memory_bytes)
    # Memtables may take up to half the budget; they are costed to the same cache, so the
    # blocks get what the memtables leave. No stall: a flush is triggered instead.
    writes = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
        memory_bytes // 2, False, shared)
    return shared, writes


class _Options(faust_rocksdb.RocksDBOptions):
    def __init__(self, *, memory_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.memory_bytes = memory_bytes

    def as_options(self) -> rocksdict.Options:
        options = super().as_options()
        shared, writes = budget(self.memory_bytes)
        tables = rocksdict.BlockBasedOptions()  # faust's, with the shared cache
        tables.set_bloom_filter(self.bloom_filter_size, block_based=True)
        tables.set_block_cache(shared)
        tables.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        tables.set_cache_index_and_filter_blocks(True)  # in the budget too
        options.set_block_based_table_factory(tables)
        options.set_write_buffer_manager(writes)
        return options


class Store(faust_rocksdb.Store):
    """faust's RocksDB store whose databases share the process's memory budget; the table's
    ``options`` carry ``memory_bytes`` and faust's own (``write_buffer_size``...)."""

    def __init__(self, url, app, table, *, options=None, **kwargs: Any) -> None:
        options = dict(options or {})
        memory_bytes = options.pop("memory_bytes")
        super().__init__(url, app, table, options={**options, "driver": "rocksdict"},
                         **kwargs)
        self.rocksdb_options = _Options(memory_bytes=memory_bytes, **self.options,
                                        use_rocksdict=True)

    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = faust_internals.current_partition()
        if partition is not None:  # else faust's own refusal: a write outside a stream
            writes.before_write(self, partition, self._db_for_partition(partition), key)
        super()._set(key, value)

    def _del(self, key: bytes) -> None:
        holding = {id(db) for db in self._dbs_for_key(key)}
        for partition, db in list(self._dbs.items()):
            if id(db) in holding:
                writes.before_write(self, partition, db, key)
        super()._del(key)

    def _open_for_partition(self, partition: int):
        db = super()._open_for_partition(partition)
        done = writes.opened(self, partition, db)
        if done == "undone":
            logs.get(__name__).warning(
                "a batch was cut short while writing this partition's state (the worker was "
                "killed): its writes undone, it is delivered again", table=self.table.name,
                partition=partition)
        elif done == "resending":
            logs.get(__name__).info(
                "the last batch that wrote this partition's state may not all be on its "
                "changelog (the worker was killed): its keys are sent again",
                table=self.table.name, partition=partition)
        return db

    def active(self, partition: int) -> bool:
        """Whether this worker holds ``partition`` of the table as its active owner."""
        from faust.types import TP

        actives = self.app.assignor.assigned_actives()
        return TP(self.table.changelog_topic.get_topic_name(), partition) in actives

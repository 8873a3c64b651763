"""The workers' table store: faust's RocksDB store (rocksdict) with one memory budget per
worker.

faust opens a RocksDB database per table partition, each with its own block cache and
memtables: a worker's memory then grew with every partition and table it held (the
scheduler's 27 databases could reach 18 MiB each) and took a long run to reach its ceiling.
Here every database of the process shares one block cache, and their memtables are charged to
it (RocksDB's write buffer manager), so RocksDB's memory stays under one figure
(``INSPECTIONS_ROCKSDB_MEMORY_BYTES``) however many partitions a worker owns.

Registered as faust store ``inspections://`` (the ``faust.stores`` entry point).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import rocksdict
from faust.stores import rocksdb as faust_rocksdb

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

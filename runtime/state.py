"""State in faust tables: typed views of byte tables, each partition's timeline, the event
ids already seen; decoded values kept in memory and dropped when partitions move."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.ids import seen_key

if TYPE_CHECKING:
    import faust

_VIEWS: list = []  # everything holding decoded state: each has a ``cache`` to clear


def holds_decoded_state(holder) -> None:
    """Have ``holder.cache`` cleared with the rest (``forget_cached_state``)."""
    _VIEWS.append(holder)


def forget_cached_state(*args, **kwargs) -> None:
    """Drop every decoded value."""
    for view in _VIEWS:
        view.cache.clear()


def forget_cached_state_on_rebalance(app: "faust.App") -> None:
    """Drop what was decoded when partitions go (another worker may write them next) and
    again when the tables' recovery completes: a read during recovery (a gauge, a view
    request) may have kept a value, or a key's absence, that the changelog then changed."""
    app.on_partitions_revoked.connect(forget_cached_state)
    app.on_rebalance_complete.connect(forget_cached_state)


class TableView(MutableMapping):
    """A faust table of bytes seen as a mapping of ``str`` keys to typed values.

    Values are encoded with a pydantic ``TypeAdapter`` (JSON), so the pure cores' frozen
    dataclasses go into RocksDB and the changelog without faust's own codecs.
    """

    def __init__(self, table, value_type, by_prefix: dict | None = None,
                 cache_entries: int = 2_000) -> None:
        from pydantic import TypeAdapter

        self.table = table
        # Decoded values, written through, the least recently used dropped past
        # ``cache_entries``. Values are frozen, so sharing them is safe; only the worker that
        # owns a partition writes its keys, and a rebalance clears it all.
        self.cache: OrderedDict[str, object] = OrderedDict()
        self.cache_entries = cache_entries
        holds_decoded_state(self)
        self.adapter = TypeAdapter(value_type)
        # Keys starting with a prefix hold values of another type.
        self.by_prefix = {p: TypeAdapter(t) for p, t in (by_prefix or {}).items()}

    def _remember(self, key: str, value) -> None:
        cache = self.cache
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self.cache_entries:
            cache.popitem(last=False)

    def _adapter(self, key: str):
        for prefix, adapter in self.by_prefix.items():
            if key.startswith(prefix):
                return adapter
        return self.adapter

    def __getitem__(self, key):
        key = str(key)
        value = self.cache.get(key, _MISSING)
        if value is not _MISSING:
            self.cache.move_to_end(key)
            return value
        raw = self.table.get(key.encode())
        if raw is None:
            raise KeyError(key)
        value = self._adapter(key).validate_json(raw)
        self._remember(key, value)
        return value

    def __setitem__(self, key, value) -> None:
        key = str(key)
        self.table[key.encode()] = self._adapter(key).dump_json(value)
        self._remember(key, value)

    def __delitem__(self, key) -> None:
        self.cache.pop(str(key), None)
        del self.table[str(key).encode()]

    def __iter__(self):
        return (k.decode() for k in self.table.keys())

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, key) -> bool:
        return str(key) in self.cache or str(key).encode() in self.table

    def values_with_prefix(self, prefix: str) -> list:
        """The values of every key starting with ``prefix``, decoded without caching them
        (a scan, for reading a whole group once)."""
        wanted = prefix.encode()
        adapter = self._adapter(prefix)
        return [adapter.validate_json(raw) for key, raw in self.table.items()
                if key.startswith(wanted)]


_MISSING = object()

class Timelines(MutableMapping):
    """Each partition's ``Timeline`` in a faust table: its stream time (``time:<p>``), which
    nearly every batch moves, and each open deadline as a key of its own
    (``due:<p>:<deadline id>``), written when it opens and deleted when it closes — so that a
    batch writes what changed, however many deadlines a partition holds open. The whole
    timeline of a partition is read once (a scan of its keys) and then kept in memory."""

    def __init__(self, table) -> None:
        from kernel.deadlines import Deadline

        self.view = TableView(table, datetime | None, by_prefix={"due:": Deadline})
        # partition -> Timeline (or _MISSING: none in the table); cleared on a rebalance
        self.cache: dict[int, object] = {}
        holds_decoded_state(self)

    def __getitem__(self, partition):
        from kernel.deadlines import Timeline

        found = self.cache.get(partition)
        if found is None:
            time_key = f"time:{partition}"
            pending = tuple(sorted(self.view.values_with_prefix(f"due:{partition}:")))
            # A partition without one is remembered too: every lookup would scan again.
            found = self.cache[partition] = (
                Timeline(self.view.get(time_key), pending)
                if time_key in self.view or pending else _MISSING)
        if found is _MISSING:
            raise KeyError(partition)
        return found

    def __setitem__(self, partition, timeline) -> None:
        try:
            old = self[partition]
        except KeyError:
            old = None
        if old is None or old.stream_time != timeline.stream_time:
            self.view[f"time:{partition}"] = timeline.stream_time
        before = {d.deadline_id: d for d in old.pending} if old is not None else {}
        if old is None or old.pending is not timeline.pending:
            after = {d.deadline_id: d for d in timeline.pending}
            for deadline_id in before.keys() - after.keys():
                del self.view[f"due:{partition}:{deadline_id}"]
            for deadline_id, deadline in after.items():
                if before.get(deadline_id) != deadline:
                    self.view[f"due:{partition}:{deadline_id}"] = deadline
        self.cache[partition] = timeline

    def __delitem__(self, partition) -> None:
        for key in [f"time:{partition}",
                    *(k for k in self.view if k.startswith(f"due:{partition}:"))]:
            if key in self.view:
                del self.view[key]
        self.cache.pop(partition, None)

    def __iter__(self):
        return iter(sorted({int(k.split(":", 2)[1]) for k in self.view}))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class SeenIds:
    """Event ids already processed, one table key per record key (a unit; a partition for
    the records without a key), so that a batch writes each key once, not each id."""

    def __init__(self, table, cache_entries: int = 2_000) -> None:
        self.view = TableView(table, frozenset[str], cache_entries=cache_entries)

    @staticmethod
    def key_of(message) -> str:
        return seen_key(message.key, message.partition)

    def __contains__(self, place: tuple[Any, str]) -> bool:
        """Whether ``(message, event_id)`` was processed before."""
        message, event_id = place
        return event_id in (self.view.get(self.key_of(message)) or ())

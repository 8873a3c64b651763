"""The campaign side's store in its faust table: what grows with a campaign, kept a key per part.

``CampaignFlow`` reads and writes whole values: ``watermarks`` (every partition's midnights)
and ``campaign:<id>`` (with each unit's visit ends). Both grow with the campaign — a mark a day
per partition, a completion per unit — and one key each would rewrite all of it, to RocksDB and
the changelog, at every midnight and every visit's end. Here each part is a key of its own:
``mark:<partition>:<n>`` and ``completed:<campaign id>:<unit id>``, the campaign's other fields
under ``campaign:<id>``; a write stores what changed, and a value is read once (a scan of its
keys) and then kept in memory (cleared on a rebalance).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from kernel.frozen import evolve
from runtime.faust_runner.stores import Values, holds_decoded_state
from services.scheduler.campaign import Campaign, Completion, Mark, Watermarks
from services.scheduler.flow import CAMPAIGN, STATUS, WATERMARKS
from services.scheduler.status_report import StatusReports

_MARK, _COMPLETED = "mark:", "completed:"
_MISSING = object()


class CampaignStore(MutableMapping):
    """The campaign side's store, in its one-partition table (partition 0)."""

    def __init__(self, table, name: str = "campaigns", cache_entries: int = 2_000) -> None:
        # The parts, and the campaign flow's other keys (the open campaigns' ids).
        self.view = Values(table, name, tuple[str, ...], cache_entries, by_prefix={
            CAMPAIGN: Campaign, _MARK: Mark, _COMPLETED: tuple[Completion, ...],
            STATUS: StatusReports})
        self.cache: dict[str, Any] = {}  # key -> whole value
        holds_decoded_state(self)

    # -- reading ---------------------------------------------------------------------------
    def __getitem__(self, key: str):
        found = self.cache.get(key, _MISSING)
        if found is _MISSING:
            found = self._assemble(key)
            if found is _MISSING:  # not kept: view requests for any id would fill the cache
                raise KeyError(key)
            self.cache[key] = found
        return found

    def _assemble(self, key: str):
        if key == WATERMARKS:
            history: dict[int, list[tuple[int, Mark]]] = {}
            for part, mark in self._parts(_MARK):
                partition, n = part.split(":")
                history.setdefault(int(partition), []).append((int(n), mark))
            if not history:
                return _MISSING
            return Watermarks({p: tuple(m for _, m in sorted(marks))
                               for p, marks in sorted(history.items())})
        if key.startswith(CAMPAIGN):
            header = self.view.get(key)
            if header is None:
                return _MISSING
            campaign_id = key[len(CAMPAIGN):]
            completions = {part: value for part, value in
                           self._parts(f"{_COMPLETED}{campaign_id}:")}
            return evolve(header, completions=dict(sorted(completions.items())))
        return self.view[key] if key in self.view else _MISSING

    def _parts(self, prefix: str) -> Iterator[tuple[str, Any]]:
        for key in list(self.view.names_in(0, prefix)):
            yield key[len(prefix):], self.view[key]

    # -- writing ---------------------------------------------------------------------------
    def __setitem__(self, key: str, value) -> None:
        old = self.get(key)
        if key == WATERMARKS:
            self._write_marks(old or Watermarks(), value)
        elif key.startswith(CAMPAIGN):
            self._write_campaign(key, old, value)
        else:
            self.view[key] = value
        self.cache[key] = value

    def _write_marks(self, old: Watermarks, new: Watermarks) -> None:
        for partition in old.history.keys() | new.history.keys():
            before, after = old.history.get(partition, ()), new.history.get(partition, ())
            for n, mark in enumerate(after):
                if n >= len(before) or before[n] != mark:
                    self.view[f"{_MARK}{partition}:{n:09d}"] = mark
            for n in range(len(after), len(before)):
                del self.view[f"{_MARK}{partition}:{n:09d}"]

    def _write_campaign(self, key: str, old: Campaign | None, new: Campaign) -> None:
        header = evolve(new, completions={})
        if old is None or evolve(old, completions={}) != header:
            self.view[key] = header
        before = old.completions if old is not None else {}
        prefix = f"{_COMPLETED}{new.campaign_id}:"
        for unit_id, completions in new.completions.items():
            if before.get(unit_id) != completions:
                self.view[prefix + unit_id] = completions
        for unit_id in before.keys() - new.completions.keys():
            del self.view[prefix + unit_id]

    def __delitem__(self, key: str) -> None:
        old = self[key]
        if key == WATERMARKS:
            self._write_marks(old, Watermarks())
        elif key.startswith(CAMPAIGN):
            self._write_campaign(key, old, evolve(old, completions={}))
            del self.view[key]
        else:
            del self.view[key]
        self.cache.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        """The flow's keys (not the parts)."""
        marks = False
        for key in list(self.view.names_in(0)):
            if key.startswith(_MARK):
                marks = True
            elif not key.startswith(_COMPLETED):
                yield key
        if marks:
            yield WATERMARKS

    def __len__(self) -> int:
        return sum(1 for _ in self)

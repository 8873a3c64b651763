"""One run of the services over the log, as replay and verify make it: the parts in parallel
(``runtime.replay_runner.parts``), then the cross-partition side here, what it derives written and
handed to the parts that hold its units; then the derived events put together, and (replay)
every view."""

from __future__ import annotations

import heapq
import multiprocessing
import multiprocessing.connection
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kernel.codec import dumps
from kernel.topology import SIDE, System
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.memory_runner.memory import Memory
from runtime.memory_runner.reading import Answering, written
from runtime.plumbing.kafka import partition_for
from runtime.replay_runner.parts import (
    CAMPAIGN_SIDE,
    Cut,
    Derived,
    Local,
    Part,
    Remote,
    end_offsets,
    share,
)


class Run:
    """The services over the log (``records``, or the inbound topic up to its end offsets
    now), into ``folder``; ``progress(n)`` hears of each n records fed."""

    def __init__(self, system: System, settings: Settings, folder: Path, *, workers: int = 0,
                 cut: Cut | None = None, index: bool = False,
                 records: Iterable | None = None,
                 progress: Callable[[int], None] = lambda n: None) -> None:
        self.system, self.settings, self.folder, self.index = system, settings, folder, index
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        self.total = 0
        self.parts, self.owner = self._parts(workers, cut, records, progress)
        self.fed = sum(part.fed for part in self.parts)  # records fed (before a cut's end)
        try:
            self._cross_partition_side()
        except BaseException:
            self.stop()
            raise

    # -- the parts ---------------------------------------------------------------------
    def _parts(self, workers, cut, records, progress):
        if records is not None:  # records given (tests, the benchmark's cores): one part here
            part = Part(self.system, self.settings, self.folder, self.index, progress)
            fed = part.feed(records, cut)
            partitions = range(self.settings.partitions)
            return [Local(part, fed)], {p: 0 for p in partitions}
        ends = end_offsets(self.settings)
        self.total = sum(ends.values())
        shares = share(sorted(ends), workers or os.cpu_count() or 1)
        owner = {p: i for i, ps in enumerate(shares) for p in ps}
        if len(shares) == 1:
            part = Part(self.system, self.settings, self.folder, self.index, progress)
            return [Local(part, part.feed_from_kafka(shares[0], ends, cut))], owner
        context = multiprocessing.get_context("fork")
        counter = context.Value("q", 0)
        parts = [Remote(context, self.system, self.settings, self.folder, self.index, counter,
                        ps, ends, cut) for ps in shares]
        waiting, told = list(parts), 0
        try:
            while waiting:
                ready = multiprocessing.connection.wait([p.conn for p in waiting], 0.2)
                for part in [p for p in waiting if p.conn in ready]:
                    part.fed = part.result()  # a part that failed: raises, saying why
                    waiting.remove(part)
                if counter.value > told:
                    progress(counter.value - told)
                    told = counter.value
        except BaseException:  # one failed, or Ctrl-C: none goes on alone
            for part in parts:
                part.stop()
            raise
        return parts, owner

    def _cross_partition_side(self) -> None:
        """What crosses partitions (the scheduler's campaign side), in partition order, here;
        the breaches it judges written, and handed to the parts holding their units."""
        crossings: dict[int, list] = {}
        for part in self.parts:
            for p, found in part.ask("take_crossings").items():
                crossings.setdefault(p, []).extend(found)
        sides = tuple(s for s in self.system if not all(r.partitioned for r in s.reads))
        handed: dict[int, list] = {}
        self.side_derived = derived = Derived(self.folder, self.index)

        def tap(service: str, fact: Any) -> None:
            """A fact a partitioned read takes goes to the part holding its key."""
            write = self.system.service(service).write_for(fact)
            if write.key is not None and any(r.partitioned
                                             for _, r in self.system.readers(write.topic)):
                handed.setdefault(self.owner[partition_for(
                    write.key(fact), self.settings.partitions)], []).append(
                    (write.topic, fact, service))

        self.side = Memory(System(sides), self.settings, tap=tap, out=lambda topic, event:
                           derived.write(topic, CAMPAIGN_SIDE, event))
        for p in sorted(crossings):
            self.side.cross(crossings[p])
        derived.close()
        for i, facts in sorted(handed.items()):
            self.parts[i].ask("deliver", facts)

    # -- what it derived ---------------------------------------------------------------------
    def derived_files(self, into: Path) -> dict[str, Path]:
        """Each public topic's derived events in one file (``<topic>.jsonl``): partition by
        partition, then the cross-partition side's."""
        into.mkdir(parents=True, exist_ok=True)
        found = {}
        for topic in topics.published(self.system):
            name = topics.name(self.settings, topic)
            target = found[name] = into / f"{name}.jsonl"
            with open(target, "wb") as out:
                for piece in sorted((self.folder / "derived" / topic).glob("*.jsonl")):
                    with open(piece, "rb") as handle:
                        shutil.copyfileobj(handle, out, 1 << 20)
        return found

    def stop(self) -> None:
        for part in self.parts:
            part.stop()

    # -- every view ----------------------------------------------------------------------
    def views(self, into: Path, fmt: str = "jsonl") -> dict[str, int]:
        """Every view the services declare a file for (``runtime.memory_runner.reading.written``),
        sorted by id: ``<file>.jsonl`` (a view a line), or with ``fmt="dir"`` a file a view
        (``<file>/<id>.json``). Returns how many of each."""
        wholes: dict[str, dict[str, list]] = {}
        for part in self.parts:
            for file, grouped in part.ask("write_views").items():
                found = wholes.setdefault(file, {})
                for ident, items in grouped.items():
                    found.setdefault(ident, []).extend(items)
        files: dict[str, Iterable[tuple[str, dict | bytes]]] = {}
        for service in self.system:
            for view in written(service):
                if view.scope == SIDE:
                    files[view.file] = self._side_views(service, view)
                elif view.whole is not None:
                    model = service.read_model(self.settings)
                    grouped = wholes.get(view.file, {})
                    files[view.file] = [(ident, view.whole(model, ident, grouped[ident], None))
                                        for ident in sorted(grouped)]
                else:
                    files[view.file] = _merged(sorted(
                        (self.folder / "views" / view.file).glob("*.jsonl")))
        counts = {}
        into.mkdir(parents=True, exist_ok=True)
        for file, items in files.items():
            counts[file] = _write_views(into, file, items, fmt)
        return counts

    def _side_views(self, service, view) -> list[tuple[str, Any]]:
        """A written view of the cross-partition side: its items there, and the rows it
        shows asked of the parts holding their units."""
        answering = Answering(self.side, self.settings)
        model = answering.models[service.name]
        items = sorted(view.each(model, answering.shelf(service.name)), key=lambda i: i[0])
        rows: dict[str, Any] = {}
        if view.rows is not None:
            wanted = sorted({u for _, (_, unit_ids) in items for u in unit_ids})
            for i, part in enumerate(self.parts):
                mine = [u for u in wanted if self.owner[partition_for(
                    u.encode(), self.settings.partitions)] == i]
                if mine:
                    rows.update(part.ask("rows", service.name, view.rows, mine))
        found = [(ident, view.whole(model, ident, [item], rows) if view.whole else item)
                 for ident, item in items]
        return [(ident, value) for ident, value in found if value is not None]


def _merged(paths: list[Path]):
    """(id, view bytes) from files of ``<id>\\t<view>`` lines, each sorted by id: merged."""
    handles = [open(path, "rb") for path in paths]
    try:
        lines = heapq.merge(*handles, key=lambda line: line.split(b"\t", 1)[0])
        for line in lines:
            ident, view = line.rstrip(b"\n").split(b"\t", 1)
            yield ident.decode(), view
    finally:
        for handle in handles:
            handle.close()


def _write_views(into: Path, kind: str, items, fmt: str) -> int:
    count = 0
    if fmt == "dir":
        folder = into / kind
        folder.mkdir(parents=True, exist_ok=True)
        for ident, view in items:
            raw = view if isinstance(view, bytes) else dumps(view)
            with open(folder / f"{safe_name(ident)}.json", "wb") as out:
                out.write(raw + b"\n")
            count += 1
        return count
    with open(into / f"{kind}.jsonl", "wb") as out:
        for _, view in items:
            out.write((view if isinstance(view, bytes) else dumps(view)) + b"\n")
            count += 1
    return count


def safe_name(ident: str) -> str:
    """A view's file name for its id (``:`` is ``~``)."""
    return "".join(c if c.isalnum() or c in "-_.:" else "_" for c in ident).replace(":", "~")


def gather_index(run: Run) -> tuple[list[str], Any]:
    """Verify's index of every event the run derived (``Derived``): its files, and four
    numbers an event, the file numbers made the run's own."""
    from array import array

    paths: list[str] = []
    index = array("Q")
    pieces = [part.ask("take_index") for part in run.parts]
    pieces.append((run.side_derived.paths, run.side_derived.index.tobytes()))
    for found_paths, raw in pieces:
        entries = array("Q")
        entries.frombytes(raw)
        for i in range(2, len(entries), 4):
            entries[i] += len(paths)
        paths += found_paths
        index.extend(entries)
    return paths, index

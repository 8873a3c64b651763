"""Replay and verify at the speed of reading: the inbound log's partitions shared among worker
processes, each running every service's partitioned side over its partitions (the in-memory
runner, the services' own declarations), and the cross-partition side in this process after
them — which the rules allow: every state but the campaign's is per unit, and the campaign's
judgement does not depend on how partitions interleave.

Each part streams its partitions from Kafka and what they derive to files, a file per topic
and partition, so that memory holds state, not output; the files are put together in
partition order, so the same log gives the same bytes however many processes ran it.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel import ids
from kernel.codec import dumps
from kernel.topology import SIDE, System
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.memory_runner.memory import Memory
from runtime.memory_runner.reading import Answering, written
from runtime.plumbing import kafka
from runtime.plumbing.canonical import dumps as fast_dumps
from runtime.plumbing.kafka import Record
from schemas import Rejection, decode

CAMPAIGN_SIDE = "campaign"  # the file name of what the cross-partition side derives
COLLECT_EVERY = 50_000  # records: the collector runs then, not as it would


class Cut:
    """Where each partition stops: at its first event after ``until`` (event time), or its
    first record appended after ``until_appended``."""

    def __init__(self, until: datetime | None = None,
                 until_appended: datetime | None = None) -> None:
        self.until = until
        self.limit_ms = None if until_appended is None else until_appended.timestamp() * 1000

    def stops(self, record, event) -> bool:
        if self.limit_ms is not None and record.timestamp_ms > self.limit_ms:
            return True
        return (self.until is not None and not isinstance(event, Rejection)
                and event.time > self.until)


class Derived:
    """Derived events to files, a file per topic and place (``derived/<topic>/<place>.jsonl``:
    a partition's number, or the cross-partition side's name), canonical JSON a line; with
    ``index``, four 64-bit numbers an event for verify: its id's digest, its bytes' digest,
    its file's number (``paths``) and its offset there."""

    def __init__(self, folder: Path, index: bool = False) -> None:
        self.folder = folder
        self.files: dict[tuple[str, str], tuple[int, Any]] = {}
        self.paths: list[str] = []
        self.index = array("Q") if index else None

    def write(self, topic: str, place: int | str, event: dict) -> None:
        raw = fast_dumps(event)  # a derived event holds no floats
        name = str(place).zfill(6)
        found = self.files.get((topic, name))
        if found is None:
            path = self.folder / "derived" / topic / f"{name}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            found = self.files[(topic, name)] = (len(self.paths), open(path, "wb"))
            self.paths.append(str(path))
        number, handle = found
        if self.index is not None:
            self.index.extend((ids.digest(event["id"]), digest(raw), number, handle.tell()))
        handle.write(raw + b"\n")

    def flush(self) -> None:
        for _, handle in self.files.values():
            handle.flush()

    def close(self) -> None:
        for _, handle in self.files.values():
            handle.close()
        self.files.clear()


class Part:
    """Some partitions of the log through every service's partitioned side, in one process,
    what they derive to ``Derived`` files."""

    def __init__(self, system: System, settings: Settings, folder: Path, index: bool = False,
                 count: Callable[[int], None] = lambda n: None) -> None:
        self.settings = settings
        self.folder = folder
        self.derived = Derived(folder, index)
        self.memory = Memory(system, settings, cross=False, out=lambda topic, event:
                             self.derived.write(topic, self.partition, event))
        self.partition = 0
        self.seen: set[int] = set()  # the partitions fed
        self.crossings: dict[int, list] = {}
        self.count = count

    # -- the log ---------------------------------------------------------------------------
    def feed(self, records: Iterable, cut: Cut | None = None) -> int:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._feed(records, cut)
        finally:
            gc.collect()
            gc.unfreeze()
            if collecting:
                gc.enable()

    def _feed(self, records: Iterable, cut: Cut | None) -> int:
        stopped: set[int] = set()
        memory, fed = self.memory, 0
        for record in records:
            p = record.partition
            if p in stopped:
                continue
            event = decode(record.value, key=record.key)
            if cut is not None and cut.stops(record, event):
                stopped.add(p)
                continue
            self.partition = p
            self.seen.add(p)
            memory.feed_decoded(record, event)
            if memory.crossings:
                self.crossings.setdefault(p, []).extend(memory.crossings)
                memory.crossings.clear()
            fed += 1
            if fed % 1000 == 0:
                self.count(1000)
                if fed % COLLECT_EVERY == 0:
                    # What is left is state that stays: the collector need not look at it
                    # again (its passes over a growing state were a third of a replay).
                    gc.collect()
                    gc.freeze()
        self.count(fed % 1000)
        self.derived.flush()
        return fed

    def feed_from_kafka(self, partitions: list[int], ends: dict[int, int],
                        cut: Cut | None = None) -> int:
        return self.feed(read_partitions(self.settings, partitions, ends), cut)

    # -- after the cross-partition side ------------------------------------------------------
    def take_crossings(self) -> dict[int, list]:
        found, self.crossings = self.crossings, {}
        return found

    def take_index(self) -> tuple[list[str], bytes]:
        """Verify's index of what it derived (``Derived``), and its files."""
        index = self.derived.index
        return self.derived.paths, index.tobytes() if index is not None else b""

    def deliver(self, facts: list[tuple[str, Any, str]]) -> None:
        """What the cross-partition side derived for these partitions' units (a campaign
        breach: the findings service keeps it for the assessment)."""
        for topic, fact, source in facts:
            self.memory.deliver(topic, fact, source)

    def rows(self, service: str, view: str, unit_ids: list[str]) -> dict[str, Any]:
        """A ``UNIT`` view's answer for each of these units it holds (``View.rows``)."""
        answering = Answering(self.memory, self.settings)
        return answering.rows(self.memory.system.service(service), view, unit_ids)

    def write_views(self) -> dict[str, dict[str, list]]:
        """Each written view (``runtime.memory_runner.reading.written``) its partitions hold
        whole, sorted by id to a file of its own (``views/<file>/part-<first partition>.jsonl``,
        ``<id>\t<view>`` a line); returns the items of those made whole from every part's
        (``View.whole``), by file and id."""
        answering = Answering(self.memory, self.settings)
        name = f"part-{min(self.seen, default=0):06d}.jsonl"
        items: dict[str, dict[str, list]] = {}
        for service in self.memory.system:
            model, shelf = answering.models.get(service.name), answering.shelf(service.name)
            for view in written(service):
                if view.scope == SIDE:
                    continue  # the cross-partition side's: not a part's
                if view.whole is not None:
                    grouped = items[view.file] = {}
                    for ident, item in view.each(model, shelf):
                        grouped.setdefault(ident, []).append(item)
                    continue
                path = self.folder / "views" / view.file / name
                path.parent.mkdir(parents=True, exist_ok=True)
                write = dumps if view.floats else fast_dumps
                write_sorted(((ident, write(v)) for ident, v in view.each(model, shelf)), path)
        return items

    def close(self) -> None:
        self.derived.close()


def write_sorted(lines, path: Path) -> None:
    """(id, bytes) pairs to ``path`` as ``<id>\t<bytes>`` lines sorted by id, holding only
    each line's id and place in memory (written once unsorted, then copied in order)."""
    unsorted = path.with_suffix(".unsorted")
    places = []
    with open(unsorted, "wb") as out:
        for ident, raw in lines:
            line = ident.encode() + b"\t" + raw + b"\n"
            places.append((ident, out.tell(), len(line)))
            out.write(line)
    places.sort()
    with open(unsorted, "rb") as source, open(path, "wb") as out:
        for _, offset, size in places:
            source.seek(offset)
            out.write(source.read(size))
    unsorted.unlink()


def digest(raw: bytes) -> int:
    """A 64-bit digest of an event's bytes."""
    import hashlib

    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def read_partitions(settings: Settings, partitions: list[int],
                    ends: dict[int, int]) -> Iterator:
    """The records of ``partitions`` of the inbound topic up to ``ends`` (each partition in
    offset order; partitions interleaved as they come)."""
    from kafka import TopicPartition

    topic = topics.name(settings, topics.EVENTS)
    consumer = kafka.consumer(settings, client_id="inspections-replay",
                              max_partition_fetch_bytes=8 * 2**20, fetch_max_bytes=64 * 2**20)
    try:
        tps = [TopicPartition(topic, p) for p in partitions if ends.get(p, 0) > 0]
        if not tps:
            return
        consumer.assign(tps)
        for tp in tps:
            consumer.seek_to_beginning(tp)
        left = {tp: ends[tp.partition] for tp in tps}
        while left:
            for tp, batch in consumer.poll(timeout_ms=500, max_records=20_000).items():
                end = left.get(tp)
                if end is None:
                    continue
                for r in batch:
                    if r.offset < end:
                        yield Record(topic, r.partition, r.offset, r.timestamp, r.key, r.value)
                if consumer.position(tp) >= end:
                    del left[tp]
                    consumer.pause(tp)
    finally:
        consumer.close()


def end_offsets(settings: Settings) -> dict[int, int]:
    """Each partition of the inbound topic's end offset now (what a replay reads up to)."""
    from kafka import TopicPartition

    topic = topics.name(settings, topics.EVENTS)
    consumer = kafka.consumer(settings, client_id="inspections-replay-ends")
    try:
        found = consumer.partitions_for_topic(topic)
        if not found:
            raise RuntimeError(f"topic {topic} not found at {settings.bootstrap}: run "
                               "`inspections topics create` first, or check the settings")
        tps = [TopicPartition(topic, p) for p in sorted(found)]
        begins, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        if any(begins[tp] for tp in tps):
            raise RuntimeError(f"{topic} no longer starts at offset 0 (retention removed "
                               "records): it cannot be replayed whole")
        return {tp.partition: ends[tp] for tp in tps}
    finally:
        consumer.close()


# -- parts in processes of their own ------------------------------------------------------------
class Remote:
    """A ``Part`` in a child process, asked over a pipe: the same methods."""

    def __init__(self, context, system: System, settings: Settings, folder: Path, index: bool,
                 counter, partitions: list[int], ends: dict[int, int], cut: Cut) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(  # forked: the system is not pickled
            target=_serve, args=(child, system, settings, folder, index, counter, partitions,
                                 ends, cut), daemon=True)
        self.process.start()
        child.close()

    fed = 0

    def result(self):
        """The answer to the last request (the first: its partitions fed)."""
        kind, value = self.conn.recv()
        if kind == "error":
            raise RuntimeError(f"a replay process failed: {value}")
        return value

    def ask(self, method: str, *args):
        self.conn.send((method, args))
        return self.result()

    def stop(self) -> None:
        if self.process.is_alive() and not self.conn.closed:
            try:
                self.conn.send(("stop", ()))
            except OSError:
                pass
        self.process.join(timeout=5)
        if self.process.is_alive():  # still reading its partitions (a failure elsewhere)
            self.process.kill()
            self.process.join()


def _serve(conn, system, settings, folder, index, counter, partitions, ends, cut) -> None:
    def count(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    try:
        part = Part(system, settings, folder, index, count)
        conn.send(("ok", part.feed_from_kafka(partitions, ends, cut)))
        while True:
            method, args = conn.recv()
            if method == "stop":
                part.close()
                return
            conn.send(("ok", getattr(part, method)(*args)))
    except Exception as error:  # the parent says what failed, and stops
        import traceback

        conn.send(("error", f"{error!r}\n{traceback.format_exc()}"))


class Local:
    """A ``Part`` in this process, asked the same way as a ``Remote``."""

    def __init__(self, part: Part, fed: int) -> None:
        self.part, self.fed = part, fed

    def result(self):
        return self.fed

    def ask(self, method: str, *args):
        return getattr(self.part, method)(*args)

    def stop(self) -> None:
        self.part.close()


def share(partitions: list[int], workers: int) -> list[list[int]]:
    """Partitions dealt round to ``workers`` parts (none empty)."""
    workers = max(1, min(workers, len(partitions)))
    return [partitions[i::workers] for i in range(workers)]

"""Replay: the inbound log, and only the log, through the same declarations the services run.

Read-only: kafka-python consumers with no group assign partitions and read from offset 0 to
the end offsets seen at the start; they commit nothing and join no group, so the live services
never notice them. The partitions are shared among processes (``runtime.replay_runner.parts``), the
cross-partition side runs after them (``runtime.replay_runner.run``). ``Pipeline`` runs the services
over records in memory, in one process (tests, the benchmark's cores).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing.kafka import Record
from runtime.replay_runner.parts import Cut
from runtime.replay_runner.run import Run
from schemas import decode
from services import SYSTEM


def cut_records(records: Iterable[Record], *, until: datetime | None = None,
                until_appended: datetime | None = None) -> Iterator[Record]:
    """The log as the services had read it at a point in time (``Cut``): ``until`` (event
    time): each partition up to, not including, its first record whose event ``time`` is
    after it; ``until_appended``: each partition's records Kafka appended at or before it."""
    cut = Cut(until, until_appended)
    stopped: set[int] = set()
    for record in records:
        if record.partition in stopped:
            continue
        event = decode(record.value, key=record.key) if until is not None else None
        if cut.stops(record, event):
            stopped.add(record.partition)
            continue
        yield record


def cut(log: dict[int, list[Record]], **limits) -> dict[int, list[Record]]:
    return {p: list(cut_records(records, **limits)) for p, records in log.items()}


class Pipeline:
    """The three services over one log, in one process: the same declarations the workers
    run (``services.SYSTEM``), on the in-memory runner."""

    def __init__(self, settings: Settings) -> None:
        from runtime.memory_runner.memory import Memory

        self.settings = settings
        self.derived: list[dict] = []
        self.by_topic: dict[str, list[dict]] = {}  # canonical topic -> its events

        def out(topic: str, event: dict) -> None:
            self.derived.append(event)
            self.by_topic.setdefault(topic, []).append(event)

        self.memory = Memory(SYSTEM, settings, out=out)

    def run(self, records: Iterable[Record], advance=lambda n: None) -> Pipeline:
        """Feed records read partition after partition (``stream_log``), or any order that
        keeps each partition's own."""
        self.memory.run(records, advance)
        return self

    # -- what it computed ----------------------------------------------------------------
    def derived_by_topic(self) -> dict[str, list[dict]]:
        named = {topics.name(self.settings, t): events for t, events in self.by_topic.items()}
        return {t: sorted(events, key=lambda e: e["id"]) for t, events in sorted(named.items())}

    def views(self) -> dict[str, Any]:
        """Every view a replay writes, from the services' stores: by file, by id."""
        from runtime.memory_runner.reading import views_of

        return views_of(self.memory, self.settings)


def replay(settings: Settings, out: Path, *, workers: int = 0, cut: Cut | None = None,
           fmt: str = "jsonl", progress: Callable[[int], None] = lambda n: None) -> dict:
    """Every derived event (``<out>/derived/<topic>.jsonl``: a partition's events in the order
    derived, partition by partition, then the cross-partition side's) and every view
    (``<out>/views/<kind>.jsonl``, sorted by id; ``fmt="dir"``: ``views/<kind>/<id>.json``),
    canonical JSON: the same log gives the same bytes, however many processes ran it."""
    claim(out)
    work = out / ".work"
    run = Run(SYSTEM, settings, work, workers=workers, cut=cut, progress=progress)
    try:
        derived = run.derived_files(out / "derived")
        views = run.views(out / "views", fmt)
    finally:
        run.stop()
        shutil.rmtree(work, ignore_errors=True)
    lines = {name: _lines(path) for name, path in derived.items()}
    return {"records": run.fed, "derived": lines, "views": views}


MARK = ".inspections-replay"  # in every folder a replay wrote: it may replace it


def claim(out: Path) -> None:
    """Make ``out`` the replay's: an empty or missing folder, or one a replay wrote (it is
    replaced); a RuntimeError for any other, which is never touched."""
    if out.exists() and not out.is_dir():
        raise RuntimeError(f"--out {out} is a file; name a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARK).exists():
            raise RuntimeError(f"--out {out} holds files a replay did not write; name an "
                               "empty or new folder (nothing was changed)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARK).write_text("written by inspections replay; replaced by the next one\n")


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def read_views(folder: Path) -> dict[str, dict[str, dict]]:
    """A replay's views (``<folder>/<file>.jsonl``) by file and id, read back."""
    import json

    from runtime.memory_runner.reading import written

    found = {}
    for service in SYSTEM:
        for view in written(service):
            path, field = folder / f"{view.file}.jsonl", view.params[-1]
            views = [json.loads(line) for line in path.read_bytes().splitlines()] \
                if path.exists() else []
            found[view.file] = {str(v[field]): v for v in views}
    return found

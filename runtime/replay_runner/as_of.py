"""Any view as of a past time: the inbound log up to that time (each partition up to its first
event after it, as ``inspections replay --until`` cuts it) through every service in memory,
then the view answered over that state as the workers answer it now (``reading.Answering``).

Bounded: a log of more than ``INSPECTIONS_AS_OF_MAX_RECORDS`` records up to the time is
refused, saying to replay it instead. Cached: the last ``INSPECTIONS_AS_OF_KEPT`` times asked
are kept, each until the log could have changed it (a partition it read to its end has grown).
Computed beside the worker in a thread of its own, so that a long one shows its progress
(``Computing``) instead of holding the request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.topology import System, View
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.memory_runner.memory import Memory
from runtime.memory_runner.reading import Answering
from runtime.plumbing import kafka
from runtime.replay_runner.parts import Cut
from schemas import decode


class TooLarge(Exception):
    """The log up to the time asked holds more records than a worker replays for a view."""


@dataclass(frozen=True)
class Computing:
    """A past state still being computed: how far it is."""

    as_of: datetime
    records: int
    of: int
    started: float

    def view(self) -> dict:
        return {"computing": True, "as_of": self.as_of.isoformat(), "records": self.records,
                "of": self.of, "seconds": round(time.monotonic() - self.started, 1)}


class Past:
    """One past state: its runner and answers once computed; what it read, to know when the
    log has moved past it."""

    def __init__(self, as_of: datetime, ends: dict[int, int]) -> None:
        self.as_of, self.ends, self.fed = as_of, ends, 0
        self.total = sum(ends.values())
        self.started = time.monotonic()
        self.answering: Answering | None = None
        self.error: BaseException | None = None
        self.read_to_end: dict[int, int] = {}  # partitions read whole: their end then
        self.stopped: set[int] = set()  # partitions cut: the rest of each is not read
        self.done = threading.Event()


class PastStates:
    """The system's state as of past times, for ``?as_of=`` on any declared view."""

    def __init__(self, system: System, settings: Settings,
                 read: Callable[[datetime, Past], Iterable] | None = None,
                 size: Callable[[], dict[int, int]] | None = None) -> None:
        self.system, self.settings = system, settings
        self.kept: OrderedDict[datetime, Past] = OrderedDict()
        self.lock = threading.Lock()
        self._read = read or self._from_kafka
        self._ends = size or self._end_offsets

    def get(self, as_of: datetime) -> Answering | Computing:
        """The answers as of ``as_of`` once computed, else how far the computation is (it is
        started if it was not). A TooLarge or the computation's own error is raised."""
        with self.lock:
            past = self.kept.get(as_of)
            if past is not None and past.done.is_set() and self._moved(past):
                del self.kept[as_of]
                past = None
            if past is None:
                ends = self._ends()
                total = sum(ends.values())
                if total > self.settings.as_of_max_records:
                    raise TooLarge(
                        f"the log holds {total:,} records, more than a worker replays for a "
                        f"view (INSPECTIONS_AS_OF_MAX_RECORDS {self.settings.as_of_max_records:,})"
                        f": run `inspections replay --until {as_of.isoformat()}` instead")
                past = self.kept[as_of] = Past(as_of, ends)
                while len(self.kept) > self.settings.as_of_kept:
                    self.kept.popitem(last=False)
                threading.Thread(target=self._compute, args=(past,), daemon=True,
                                 name=f"as-of-{as_of.isoformat()}").start()
            self.kept.move_to_end(as_of)
        if not past.done.wait(0.5):  # a short one is answered at once
            return Computing(as_of, past.fed, past.total, past.started)
        if past.error is not None:
            with self.lock:
                self.kept.pop(as_of, None)  # asked again: tried again
            raise past.error
        return past.answering

    def ask(self, as_of: str, service: str, view: View, params: Mapping[str, str],
            query: Mapping[str, str]) -> tuple[int, Any, dict[str, str]]:
        """An HTTP answer to a view asked as of a past time: (status, body, headers). 200 (or
        the view's 404, 400) once computed; 202 with how far it is while it is; 400 for a
        time that is not one; 422 for a log too large; 503 when it failed (asked again: tried
        again)."""
        try:
            when = parse_as_of(as_of)
        except ValueError as exc:
            return 400, {"error": str(exc)}, {}
        try:
            found = self.get(when)
        except TooLarge as exc:
            return 422, {"error": str(exc)}, {}
        except Exception as exc:  # the computation's own
            return 503, {"error": f"the state as of {when.isoformat()} could not be computed "
                                  f"({type(exc).__name__}: {exc}); ask again"}, {}
        if isinstance(found, Computing):
            return 202, found.view(), {"Retry-After": "1"}
        status, value = found.view(service, view, params, query)
        return status, value, {}

    def _compute(self, past: Past) -> None:
        try:
            memory = Memory(self.system, self.settings, out=lambda topic, event: None)
            cut = Cut(past.as_of)  # as replay --until cuts the log
            for record in self._read(past.as_of, past):
                if record.partition in past.stopped:
                    continue
                event = decode(record.value, key=record.key)
                if cut.stops(record, event):
                    past.stopped.add(record.partition)
                    continue
                memory.feed_decoded(record, event)
                past.fed += 1
            past.answering = Answering(memory, self.settings)
        except BaseException as error:  # told to whoever asks
            past.error = error
        finally:
            past.done.set()

    def _moved(self, past: Past) -> bool:
        """Whether the log may hold records up to ``past.as_of`` it did not read: a partition
        it read to its end has grown since."""
        if not past.read_to_end:
            return False
        ends = self._ends()
        return any(ends.get(p, 0) > end for p, end in past.read_to_end.items())

    # -- the inbound log ------------------------------------------------------------------
    def _end_offsets(self) -> dict[int, int]:
        from runtime.replay_runner.parts import end_offsets

        return end_offsets(self.settings)

    def _from_kafka(self, as_of: datetime, past: Past) -> Iterator:
        """Each partition in turn, up to its end when asked (``past.ends``) or until it is cut
        (``past.stopped``); one read to its end is noted."""
        from kafka import TopicPartition

        topic = topics.name(self.settings, topics.EVENTS)
        ends = past.ends
        reader = kafka.consumer(self.settings, client_id="inspections-as-of",
                                max_partition_fetch_bytes=8 * 2**20)
        try:
            for p in sorted(ends):
                if not ends[p]:
                    past.read_to_end[p] = 0
                    continue
                tp = TopicPartition(topic, p)
                reader.assign([tp])
                reader.seek_to_beginning(tp)
                while p not in past.stopped and reader.position(tp) < ends[p]:
                    for batch in reader.poll(timeout_ms=500, max_records=10_000).values():
                        for r in batch:
                            if r.offset >= ends[p] or p in past.stopped:
                                break
                            yield kafka.Record(topic, r.partition, r.offset, r.timestamp,
                                               r.key, r.value)
                if p not in past.stopped:
                    past.read_to_end[p] = ends[p]
        finally:
            reader.close()


def parse_as_of(text: str) -> datetime:
    """An ``as_of`` time: ISO 8601 with its offset (a ``+`` left unencoded in a query arrives
    as a space, and is taken for one). A ValueError says what is wrong."""
    head, space, offset = text.strip()[:60].rpartition(" ")
    for candidate in (text.strip(), f"{head}+{offset}" if space else None):
        try:
            when = datetime.fromisoformat(candidate) if candidate else None
        except ValueError:
            continue
        if when is not None:
            break
    else:
        raise ValueError(f"as_of must be a time such as 2026-07-01T00:00:00+08:00; got "
                         f"{text[:60]!r}")
    if when.tzinfo is None:
        raise ValueError("as_of needs its offset (+08:00): a time without one is ambiguous")
    return when


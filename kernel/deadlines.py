"""The one deadline mechanism every rule uses, and the loop that drives a service's core.

Pure: standard library only, no clock, no I/O. Time is stream time: per partition, the largest
event time seen. An event at time t first moves stream time to t, which breaches every open
deadline due *before* t (at the due time is still in time), and is applied after that. Time
never moves back: an older event is applied as it comes.

A service core is two functions over the state of one key (a unit, say):
``handle(state, event, now)`` for an event of that key, and ``expire(state, deadline, now,
cause)`` for one of its deadlines that stream time has passed. Both return a ``Decision``: the
new state, the facts derived, the deadlines to open and the ones to close. ``process`` runs
one event through a partition: duplicates first, then breaches, then the event.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from kernel.frozen import evolve

S = TypeVar("S")


@dataclass(frozen=True, order=True)
class Deadline:
    """An obligation of ``key``'s state, due at ``due``; ``deadline_id`` is unique."""

    due: datetime
    deadline_id: str
    key: str = field(compare=False)


@dataclass(frozen=True)
class Decision(Generic[S]):
    state: S
    derived: tuple[Any, ...] = ()
    open: tuple[Deadline, ...] = ()
    close: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timeline:
    """One partition's stream time and its open deadlines, earliest first."""

    stream_time: datetime | None = None
    pending: tuple[Deadline, ...] = ()

    def moved_to(self, t: datetime) -> Timeline:
        if self.stream_time is not None and t <= self.stream_time:
            return self
        return Timeline(t, self.pending)  # not evolve(): this runs for nearly every event

    def next_due_before(self, t: datetime) -> Deadline | None:
        """The earliest open deadline due strictly before ``t``."""
        if self.pending and self.pending[0].due < t:
            return self.pending[0]
        return None

    def with_changes(self, open: Sequence[Deadline], close: Sequence[str]) -> Timeline:
        if not open and not close:
            return self
        gone = set(close) | {d.deadline_id for d in open}  # re-opening replaces
        kept = [d for d in self.pending if d.deadline_id not in gone]
        for deadline in open:
            bisect.insort(kept, deadline)
        return evolve(self, pending=tuple(kept))


class Event(Protocol):
    id: str
    type: str
    time: datetime


class Core(Protocol[S]):
    def initial(self, key: str) -> S: ...

    def key(self, event: Any) -> str | None: ...

    def remembers(self, event: Any) -> bool:
        """Whether a repeat of this event could change anything (so its id is kept)."""
        ...

    def handle(self, state: S, event: Any, now: datetime) -> Decision[S]: ...

    def expire(self, state: S, deadline: Deadline, now: datetime, cause: Any) -> Decision[S]: ...


@dataclass(frozen=True)
class Outcome:
    timeline: Timeline
    derived: tuple[Any, ...]
    duplicate: bool = False
    late: bool = False  # its time was before its partition's stream time (applied as it came)


class Irregular:
    """What a flow met that was not the usual course, counted by kind (``duplicate``, ``late``,
    ``noted``: an anomaly its core recorded), with the text of each note, until drained."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.notes: list[str] = []

    def count(self, kind: str, n: int = 1) -> None:
        if n > 0:
            self.counts[kind] = self.counts.get(kind, 0) + n

    def note(self, texts) -> None:
        self.notes.extend(texts)
        self.count("noted", len(texts))

    def of(self, outcome: Outcome) -> None:
        if outcome.duplicate:
            self.count("duplicate")
        elif outcome.late:
            self.count("late")

    def drain(self) -> tuple[dict[str, int], list[str]]:
        counts, notes = self.counts, self.notes
        self.counts, self.notes = {}, []
        return counts, notes


def process(
    core: Core[S],
    timeline: Timeline,
    states: MutableMapping[str, S],
    seen: Callable[[str], bool],
    event: Any,
) -> Outcome:
    """Run one event of a partition through ``core``.

    ``states`` holds the state of each key (a faust table live, a dict in a replay); ``seen``
    says whether an event id was processed before (and remembers it), so that a duplicate
    changes nothing, not even stream time.
    """
    key = core.key(event)
    # An event the core only reads the time of changes nothing when repeated (time never
    # moves back), so only the ids of the others are kept.
    if core.remembers(event) and seen(event.id):
        return Outcome(timeline, (), duplicate=True)
    derived: list[Any] = []
    late = timeline.stream_time is not None and event.time < timeline.stream_time
    timeline = timeline.moved_to(event.time)
    timeline = _breach_due(core, timeline, states, event, derived)
    if key is not None:
        state = states.get(key)
        decision = core.handle(core.initial(key) if state is None else state, event,
                               timeline.stream_time)
        if decision.state is not state:  # an unchanged state is not written again
            states[key] = decision.state
        derived.extend(decision.derived)
        timeline = timeline.with_changes(decision.open, decision.close)
        # A deadline opened already past (a late event) is breached now, not at the next one.
        timeline = _breach_due(core, timeline, states, event, derived)
    return Outcome(timeline, tuple(derived), late=late)


def seen_key(record_key: bytes | None, partition: int) -> str:
    """Where a duplicate is looked for: among the ids of its record's key (a unit), or of its
    partition for records without a key (the services and the replay alike)."""
    if record_key:
        return "key:" + record_key.decode("utf-8", "replace")
    return f"partition:{partition}"


def process_on_partition(
    core: Core[S],
    partition: int,
    timelines: MutableMapping[int, Timeline],
    states: MutableMapping[str, S],
    seen: Callable[[str], bool],
    event: Any,
) -> tuple[Outcome, Timeline, Tracked]:
    """``process`` with the partition's timeline read from and written back to
    ``timelines``; also returns the timeline before, and which states were written."""
    before = timelines.get(partition) or Timeline()
    tracked = Tracked(states)
    outcome = process(core, before, tracked, seen, event)
    if not outcome.duplicate and outcome.timeline != before:
        timelines[partition] = outcome.timeline
    return outcome, before, tracked


def _breach_due(core, timeline: Timeline, states, cause, derived: list) -> Timeline:
    now = timeline.stream_time
    while (deadline := timeline.next_due_before(now)) is not None:
        timeline = timeline.with_changes((), (deadline.deadline_id,))
        state = states.get(deadline.key)
        if state is None:
            continue
        decision = core.expire(state, deadline, now, cause)
        if decision.state is not state:
            states[deadline.key] = decision.state
        derived.extend(decision.derived)
        timeline = timeline.with_changes(decision.open, decision.close)
    return timeline


class Tracked(MutableMapping):
    """A mapping that remembers which keys were written, and what each held before."""

    _NONE = object()

    def __init__(self, inner: MutableMapping) -> None:
        self.inner = inner
        self.before: dict[str, Any] = {}  # key -> value before the first write (or _NONE)

    @property
    def written(self) -> list[str]:
        return list(self.before)

    def old(self, key: str) -> Any:
        value = self.before.get(key, self._NONE)
        return None if value is self._NONE else value

    def __getitem__(self, key):
        return self.inner[key]

    def __setitem__(self, key, value):
        if key not in self.before:
            self.before[key] = self.inner.get(key, self._NONE)
        self.inner[key] = value

    def __delitem__(self, key):
        del self.inner[key]

    def __iter__(self):
        return iter(self.inner)

    def __len__(self):
        return len(self.inner)

    def get(self, key, default=None):
        try:
            return self.inner[key]
        except KeyError:
            return default

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

import heapq
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

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


class Timeline:
    """One partition's stream time and its open deadlines, the earliest found in O(log n).

    Open deadlines sit in a heap by (due, id) with lazy deletion: a closed or re-opened one
    leaves its entry behind, skipped when it comes up (and swept when they outnumber the open
    ones). Once ``track``ed, what changed since the last ``drain`` is journalled, so that a
    store writes only that: each deadline opened (its value) or closed (None), and whether
    stream time moved."""

    __slots__ = ("stream_time", "_open", "_heap", "changed", "time_moved", "_saved")

    def __init__(self, stream_time: datetime | None = None,
                 pending: Iterable[Deadline] = ()) -> None:
        self.stream_time = stream_time
        self._open: dict[str, Deadline] = {}
        self._heap: list[tuple[datetime, str]] = []
        self.changed: dict[str, Deadline | None] | None = None  # None: not journalled
        self.time_moved = False
        self._saved: tuple | None = None  # since ``savepoint``: what ``rollback`` restores
        for deadline in pending:
            self._open[deadline.deadline_id] = deadline
            self._heap.append((deadline.due, deadline.deadline_id))
        heapq.heapify(self._heap)

    # -- reading -------------------------------------------------------------------------
    @property
    def pending(self) -> tuple[Deadline, ...]:
        """The open deadlines, earliest first."""
        return tuple(sorted(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def get(self, deadline_id: str) -> Deadline | None:
        return self._open.get(deadline_id)

    def next_due_before(self, t: datetime) -> Deadline | None:
        """The earliest open deadline due strictly before ``t``."""
        heap, live = self._heap, self._open
        while heap:
            due, deadline_id = heap[0]
            deadline = live.get(deadline_id)
            if deadline is None or deadline.due != due:
                heapq.heappop(heap)  # closed, or re-opened at another time
                continue
            return deadline if due < t else None
        return None

    # -- changing ------------------------------------------------------------------------
    def move_to(self, t: datetime) -> None:
        if self.stream_time is None or t > self.stream_time:
            self.stream_time = t
            self.time_moved = True

    def apply(self, open: Iterable[Deadline] = (), close: Iterable[str] = ()) -> None:
        """Close, then open (re-opening an id replaces it)."""
        journal = self.changed
        before = self._saved[3] if self._saved is not None else None
        for deadline_id in close:
            if before is not None and deadline_id not in before:
                before[deadline_id] = self._open.get(deadline_id)
            if self._open.pop(deadline_id, None) is not None and journal is not None:
                journal[deadline_id] = None
        for deadline in open:
            if before is not None and deadline.deadline_id not in before:
                before[deadline.deadline_id] = self._open.get(deadline.deadline_id)
            self._open[deadline.deadline_id] = deadline
            heapq.heappush(self._heap, (deadline.due, deadline.deadline_id))
            if journal is not None:
                journal[deadline.deadline_id] = deadline
        if len(self._heap) > 2 * len(self._open) + 64:
            self._heap = [(d.due, d.deadline_id) for d in self._open.values()]
            heapq.heapify(self._heap)

    def savepoint(self) -> bool:
        """Remember where it is, so that ``rollback`` can undo what follows (one record's
        changes, when its handling fails); ``release`` forgets it. False when it has a
        savepoint already (kept)."""
        if self._saved is not None:
            return False
        changed = dict(self.changed) if self.changed is not None else None
        self._saved = (self.stream_time, self.time_moved, changed, {})
        return True

    def release(self) -> None:
        self._saved = None

    def rollback(self) -> None:
        """Back to the ``savepoint``: stream time and every deadline opened or closed since."""
        if self._saved is None:
            return
        self.stream_time, self.time_moved, self.changed, before = self._saved
        self._saved = None
        for deadline_id, deadline in before.items():
            if deadline is None:
                self._open.pop(deadline_id, None)
            else:
                self._open[deadline_id] = deadline
                # Its heap entry may have been taken when it was closed: put one back.
                heapq.heappush(self._heap, (deadline.due, deadline_id))

    def track(self) -> Timeline:
        """Journal the changes from now on (a store that writes only what changed)."""
        self.changed = {}
        self.time_moved = False
        return self

    def drain(self) -> tuple[bool, dict[str, Deadline | None]]:
        """What changed since the last drain: (stream time moved, deadlines by id)."""
        moved, changed = self.time_moved, self.changed or {}
        self.time_moved, self.changed = False, {}
        return moved, changed

    @property
    def dirty(self) -> bool:
        return self.time_moved or bool(self.changed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        return (self.stream_time, self._open) == (other.stream_time, other._open)

    def __repr__(self) -> str:
        return f"Timeline({self.stream_time!r}, {self.pending!r})"


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

    def witnessed(self, state: S, event: Any) -> bool:
        """Whether ``state`` shows this very event applied: an entity it made names its id
        first in its history (what ``shown`` tells a store that keeps ids)."""
        ...

    def handle(self, state: S, event: Any, now: datetime) -> Decision[S]: ...

    def expire(self, state: S, deadline: Deadline, now: datetime, cause: Any) -> Decision[S]: ...


@dataclass(frozen=True)
class Outcome:
    derived: tuple[Any, ...]
    duplicate: bool = False
    late: bool = False  # its time was before its partition's stream time (applied as it came)


_DUPLICATE = Outcome((), duplicate=True)


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
    shown: Callable[[str], None] | None = None,
) -> Outcome:
    """Run one event of a partition through ``core``, moving ``timeline`` along.

    ``states`` holds the state of each key (a faust table live, a dict in a replay); ``seen``
    says whether an event id was processed before (and remembers it), so that a duplicate
    changes nothing, not even stream time. ``shown(event_id)``, when given, is told of an
    event whose key's state now shows it (``Core.witnessed``): a store that writes the ids it
    remembers can leave that one to the state, which is written anyway.
    """
    key = core.key(event)
    # An event the core only reads the time of changes nothing when repeated (time never
    # moves back), so only the ids of the others are kept.
    if core.remembers(event) and seen(event.id):
        return _DUPLICATE
    derived: list[Any] = []
    late = timeline.stream_time is not None and event.time < timeline.stream_time
    timeline.move_to(event.time)
    _breach_due(core, timeline, states, event, derived)
    if key is not None:
        state = states.get(key)
        decision = core.handle(core.initial(key) if state is None else state, event,
                               timeline.stream_time)
        if decision.state is not state:  # an unchanged state is not written again
            states[key] = decision.state
            if shown is not None and core.witnessed(decision.state, event):
                shown(event.id)
        derived.extend(decision.derived)
        if decision.open or decision.close:
            timeline.apply(decision.open, decision.close)
            # A deadline opened already past (a late event) is breached now, not at the next.
            _breach_due(core, timeline, states, event, derived)
    return Outcome(tuple(derived), late=late) if derived or late else _QUIET


_QUIET = Outcome(())


def process_on_partition(
    core: Core[S],
    partition: int,
    timelines: MutableMapping[int, Timeline],
    states: MutableMapping[str, S],
    seen: Callable[[str], bool],
    event: Any,
    shown: Callable[[str], None] | None = None,
) -> tuple[Outcome, datetime | None, Tracked]:
    """``process`` on the partition's timeline (made and kept in ``timelines`` when it has
    none); also returns the stream time before, and which states were written."""
    timeline = timelines.get(partition)
    if timeline is None:
        timeline = Timeline()
    before = timeline.stream_time
    tracked = Tracked(states)
    outcome = process(core, timeline, tracked, seen, event, shown)
    if not outcome.duplicate and (timeline.dirty or partition not in timelines):
        timelines[partition] = timeline  # what the store writes (a dict: itself)
    return outcome, before, tracked


def _breach_due(core, timeline: Timeline, states, cause, derived: list) -> None:
    now = timeline.stream_time
    while (deadline := timeline.next_due_before(now)) is not None:
        timeline.apply((), (deadline.deadline_id,))
        state = states.get(deadline.key)
        if state is None:
            continue
        decision = core.expire(state, deadline, now, cause)
        if decision.state is not state:
            states[deadline.key] = decision.state
        derived.extend(decision.derived)
        if decision.open or decision.close:
            timeline.apply(decision.open, decision.close)


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

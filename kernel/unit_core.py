"""What the three services' unit cores share (each is a ``kernel.deadlines.Core``).

A core is built with its policy, keeps one state per unit (a frozen value made with
``unit_id=``), takes the event types of its table ``ON`` (event type → the function that
handles it), keyed by the event's subject, and dispatches by that table: from an event type,
one grep for ``TYPE:`` finds its handler.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from kernel.deadlines import Deadline, Decision

S = TypeVar("S")


class UnitCore(Generic[S]):
    """A subclass gives ``State`` and ``ON`` (``handler(core, state, event, now)``);
    ``REMEMBERED``: types beyond ``ON`` whose ids are kept (a repeat could change
    something); ``WITNESSES``: types whose handling may leave an entity that names the
    event's id first in its history, with the function (``witness(state, event)``) saying
    whether it did: a runner that keeps ids need not keep that one (``shown``)."""

    State: ClassVar[Callable[..., Any]]
    ON: ClassVar[Mapping[str, Callable[..., Decision]]]
    REMEMBERED: ClassVar[frozenset[str]] = frozenset()
    WITNESSES: ClassVar[Mapping[str, Callable[[Any, Any], bool]]] = {}

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    def initial(self, key: str) -> S:
        return self.State(unit_id=key)

    def key(self, event) -> str | None:
        return event.subject if event.type in self.ON else None

    def remembers(self, event) -> bool:
        return event.type in self.ON or event.type in self.REMEMBERED

    def witnessed(self, state: S, event) -> bool:
        witness = self.WITNESSES.get(event.type)
        return witness is not None and witness(state, event)

    def handle(self, state: S, event, now: datetime) -> Decision[S]:
        return self.ON[event.type](self, state, event, now)

    def expire(self, state: S, deadline: Deadline, now: datetime, cause) -> Decision[S]:
        return Decision(state)  # a core without deadlines of its own

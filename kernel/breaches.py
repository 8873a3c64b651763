"""The derived fact every rule emits when it is broken: a ``deadline.breached``. The cores
build ``Breach`` values; ``schemas.envelope.breach_event`` is their one wire form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Breach:
    """One broken rule. ``deadline_id`` names the obligation (the event's id is derived from
    it, so a replay or restart gives the same id), ``cause_id`` the event that revealed the
    breach, ``correlation_id`` the case it belongs to, ``detail`` what fell short."""

    deadline_id: str
    kind: str
    unit_id: str
    subject_id: str
    due: datetime
    breached_at: datetime
    cause_id: str
    correlation_id: str | None = None
    detail: str = ""

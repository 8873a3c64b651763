"""The derived fact every rule emits when it is broken: a ``deadline.breached``.

The cores build ``Breach`` values (standard library only); ``to_event`` is their one wire form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inspections.codec import derived_id

TYPE = "deadline.breached"


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


def to_event(breach: Breach, service: str) -> dict:
    event = {
        "specversion": "1.0",
        "id": derived_id(TYPE, breach.deadline_id),
        "source": f"urn:inspections:service:{service}",
        "type": TYPE,
        "time": breach.breached_at.isoformat(),
        "subject": breach.unit_id,
        "datacontenttype": "application/json",
        "causationid": breach.cause_id,
        "data": {
            "deadline_id": breach.deadline_id,
            "kind": breach.kind,
            "unit_id": breach.unit_id,
            "subject_id": breach.subject_id,
            "due": breach.due.isoformat(),
            "breached_at": breach.breached_at.isoformat(),
            "detail": breach.detail,
        },
    }
    if breach.correlation_id is not None:
        event["correlationid"] = breach.correlation_id
    return event

"""The events the services derive: escalations raised, escalated and withdrawn, breaches,
rejected records. The routing table ``DERIVED`` maps the wire ``type`` to its class."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.events import DerivedEvent, Envelope, table
from schemas.fields import (
    Action,
    Authority,
    BreachKind,
    Data,
    DeadlineId,
    DerivedTime,
    EscalationId,
    Id,
    Text,
    Time,
)

class EscalationData(Data):
    escalation_id: EscalationId
    finding_id: Id
    unit_id: Id
    action: Action
    authority: Authority
    level: Annotated[int, Field(ge=1)]
    due: DerivedTime


class EscalationRaisedData(EscalationData):
    level: Literal[1]


class EscalationEscalatedData(EscalationData):
    level: Annotated[int, Field(ge=2)]


class EscalationWithdrawnData(EscalationData):
    """An escalation a correction made unneeded (added to the contract), as it stood."""

    reason: Text


class DeadlineBreachedData(Data):
    deadline_id: DeadlineId
    kind: BreachKind
    unit_id: Id
    subject_id: EscalationId
    due: DerivedTime
    breached_at: Time
    detail: Text | None = None  # added by the project: what fell short, for a person


class RecordRejectedData(Data):
    topic: Id
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    timestamp: Time
    reason: Text
    # Added by the project: the gate's cause (``schemas.gate.CAUSES``), which a reader cannot
    # always work out again from the bytes (a time too far ahead depends on the partition, a
    # failure in processing on the service).
    cause: Annotated[str, Field(max_length=64)] | None = None
    key_base64: str | None
    value_base64: str | None
    value_bytes: Annotated[int, Field(ge=0)]


class EscalationRaised(DerivedEvent):
    type: Literal["escalation.raised"]
    data: EscalationRaisedData


class EscalationEscalated(DerivedEvent):
    type: Literal["escalation.escalated"]
    data: EscalationEscalatedData


class EscalationWithdrawn(DerivedEvent):
    type: Literal["escalation.withdrawn"]
    data: EscalationWithdrawnData


class DeadlineBreached(DerivedEvent):
    type: Literal["deadline.breached"]
    data: DeadlineBreachedData


class RecordRejected(Envelope):
    """A record of ``inspections.events`` that failed the contract; caused by a record, not an
    event, so it names its position instead of a ``causationid``."""

    type: Literal["record.rejected"]
    data: RecordRejectedData


DERIVED: dict[str, type[Envelope]] = table(
    EscalationRaised, EscalationEscalated, DeadlineBreached, RecordRejected,
    EscalationWithdrawn,
)

"""The envelope of every event the project writes itself — derived events, rejections, clock
ticks — built in one place, with the contract's attribute names (``schemas.events.Envelope``):
CloudEvents 1.0, ``source`` naming the writer, ``causationid`` the event that caused it and the
cause's ``correlationid`` kept. Ids come from ``kernel.ids``: the same cause, the same id.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kernel import ids, vocabulary
from kernel.codec import dumps, from_epoch_ms

CLI_CLOCK = "urn:inspections:clock:cli"
CLI_POLICY = "urn:inspections:policy:cli"  # `inspections policy adopt`


def service_source(service: str) -> str:
    return f"urn:inspections:service:{service}"


def envelope(event_type: str, event_id: str, *, source: str, time: str, subject: str,
             data: dict[str, Any], causation: str | None = None,
             correlation: str | None = None, **extensions: Any) -> dict[str, Any]:
    event = {
        "specversion": "1.0", "id": event_id, "source": source, "type": event_type,
        "time": time, "subject": subject, "datacontenttype": "application/json", "data": data,
        **extensions,
    }
    if causation is not None:
        event["causationid"] = causation
    if correlation is not None:
        event["correlationid"] = correlation
    return event


def breach_event(breach, service: str) -> dict[str, Any]:
    """``deadline.breached`` for a ``kernel.breaches.Breach``."""
    return envelope(
        vocabulary.DEADLINE_BREACHED, ids.breach_event_id(breach.deadline_id),
        source=service_source(service), time=breach.breached_at.isoformat(),
        subject=breach.unit_id, causation=breach.cause_id, correlation=breach.correlation_id,
        data={"deadline_id": breach.deadline_id, "kind": breach.kind,
              "unit_id": breach.unit_id, "subject_id": breach.subject_id,
              "due": breach.due.isoformat(), "breached_at": breach.breached_at.isoformat(),
              "detail": breach.detail})


def notice_event(notice, service: str) -> dict[str, Any]:
    """``escalation.raised`` / ``escalated`` / ``withdrawn`` for a notice: its ``type``,
    ``time``, ``cause_id``, ``escalation`` (id, finding, unit, action, authority, level, due,
    correlation id) and, when withdrawn, its ``reason``. Its id comes from the escalation and
    level (and the round, for one raised again after a withdrawal)."""
    e = notice.escalation
    data = {"escalation_id": e.escalation_id, "finding_id": e.finding_id,
            "unit_id": e.unit_id, "action": e.action, "authority": e.authority,
            "level": e.level, "due": e.due.isoformat()}
    if notice.type == vocabulary.ESCALATION_WITHDRAWN:
        data["reason"] = notice.reason
    return envelope(
        notice.type, ids.notice_event_id(notice.type, e.escalation_id, e.level, e.round),
        source=service_source(service), time=notice.time.isoformat(), subject=e.unit_id,
        causation=notice.cause_id, correlation=e.correlation_id, data=data)


def rejection_event(
    *, service: str, topic: str, partition: int, offset: int, timestamp_ms: int,
    key: bytes | None, value: bytes | None, reason: str, cause: str,
) -> dict[str, Any]:
    """``record.rejected`` for one record: the original bytes, where it was, why. Its id comes
    from the record's position (and, for a record that failed in a service, the service), so
    a re-emission after a crash is the same event."""
    appended = from_epoch_ms(timestamp_ms)
    failed_in = service if cause == vocabulary.PROCESSING_FAILED else None
    return envelope(
        vocabulary.RECORD_REJECTED, ids.rejection_event_id(topic, partition, offset, failed_in),
        source=service_source(service), time=appended, subject=f"{topic}/{partition}/{offset}",
        data={"topic": topic, "partition": partition, "offset": offset, "timestamp": appended,
              "reason": reason, "cause": cause,
              "key_base64": None if key is None else base64.b64encode(key).decode(),
              "value_base64": None if value is None else base64.b64encode(value).decode(),
              "value_bytes": 0 if value is None else len(value)})


def failure_reason(service: str, error: BaseException) -> str:
    """The reason of a rejection for an event whose handling failed in ``service``."""
    from schemas.gate import capped

    return capped(f"the {service} service could not apply this event ({type(error).__name__}: "
                  f"{str(error)[:300]}); nothing of it was kept, the events after it were "
                  f"applied: report it to the project's maintainers with this rejection")


def policy_events(data: dict[str, Any], digest: str, at: datetime,
                  partitions: Iterable[int], source: str,
                  actor: str | None = None) -> list[tuple[int, bytes]]:
    """One ``policy.adopted`` to every partition, as bytes (``data``: policy_id, policy,
    source, note); the same id everywhere, from the policy's digest and the time."""
    when = at.isoformat()
    extra = {} if actor is None else {"actor": actor}
    raw = dumps(envelope(vocabulary.POLICY_ADOPTED, ids.policy_event_id(digest, when),
                         source=source, time=when, subject=vocabulary.POLICY_SUBJECT,
                         data=data, **extra))
    return [(p, raw) for p in partitions]


def tick_events(at: datetime, partitions: Iterable[int], source: str = CLI_CLOCK,
                publisher: str | None = None) -> list[tuple[int, bytes]]:
    """One ``clock.ticked`` per partition, as bytes; the id comes from the time and partition,
    so sending the same tick twice is a duplicate. ``publisher`` (an extension attribute)
    names the process that sent it."""
    when = at.isoformat()
    extra = {} if publisher is None else {"clockpublisher": publisher}
    return [(p, dumps(envelope(vocabulary.CLOCK_TICKED, ids.tick_event_id(when, p),
                               source=source, time=when, subject="clock", data={}, **extra)))
            for p in partitions]

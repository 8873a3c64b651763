"""What a worker says of what it derived and met: each breach counted and logged as it is
staged to send, and each irregular event counted and each noted anomaly logged, with the
record's context bound."""

from __future__ import annotations

from kernel.codec import dumps
from runtime import logs, metrics
from runtime.publishing import Outbox
from schemas.envelope import breach_event


def add_breaches(outbox: Outbox, found, service: str) -> None:
    """Stage ``deadline.breached`` events (keyed by unit) to send; count and log each one."""
    log = logs.get("inspections.breaches")
    for breach in found:
        outbox.add(breach.unit_id.encode(), dumps(breach_event(breach, service)))
        metrics.BREACHES.labels(service, breach.kind).inc()
        log.info("deadline breached", kind=breach.kind, unit=breach.unit_id,
                 subject=breach.subject_id, cause=breach.cause_id)


def report_irregular(irregular, service: str) -> None:
    """Count what a flow met out of the usual course, and log each anomaly its rules noted
    (called after each record)."""
    if not irregular.counts:
        return
    counts, notes = irregular.drain()
    for kind, n in counts.items():
        metrics.EVENTS_IRREGULAR.labels(service, kind).inc(n)
    log = logs.get("inspections.irregular")
    for text in notes:
        log.warning("anomaly noted", note=text)

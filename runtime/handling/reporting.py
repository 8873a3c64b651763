"""What a worker says of what it derived and met, while the record's context is bound: each
breach, notice and unmatched acknowledgement counted (and logged where an operator would look),
each irregular event counted and each noted anomaly logged."""

from __future__ import annotations

from runtime.plumbing import logs, metrics


def report_breach(breach, service: str) -> None:
    metrics.BREACHES.labels(service, breach.kind).inc()
    logs.get("inspections.breaches").info(
        "deadline breached", kind=breach.kind, unit=breach.unit_id,
        subject=breach.subject_id, cause=breach.cause_id)


def report_notice(notice, service: str) -> None:
    metrics.ESCALATION_NOTICES.labels(notice.type, notice.escalation.authority).inc()


def report_unmatched(unmatched, service: str) -> None:
    metrics.ACKNOWLEDGEMENTS_UNMATCHED.labels(unmatched.event_type).inc()
    logs.get(f"services.{service}").warning(
        "unmatched", event_id=unmatched.event_id, type=unmatched.event_type,
        escalation_id=unmatched.escalation_id)


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

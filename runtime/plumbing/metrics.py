"""Prometheus metrics, defined once for every worker, served on the worker's ``/metrics``.

Names follow Prometheus practice: base units (seconds, ratios), ``_total`` on counters. The
README's metrics table lists every one; a test checks the table against a running worker.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics

from runtime.plumbing import build

disable_created_metrics()  # the ``_created`` series double what is exported, for no reader

EVENTS_PROCESSED = Counter(
    "inspections_events_processed_total",
    "Inbound events (inspections.events) a service accepted and processed, by event type.",
    ["service", "type"],
)
RECORDS_REJECTED = Counter(
    "inspections_records_rejected_total",
    "Records of inspections.events rejected to inspections.rejected, by cause: refused by the "
    "gate or as dated too far ahead (counted once, by the scheduler, which publishes them), or "
    "processing_failed (a service's handling of an accepted event failed and was undone: "
    "counted by that service).",
    ["cause"],
)
RECORDS_SKIPPED = Counter(
    "inspections_records_skipped_total",
    "Records of an internal topic a service skipped, by topic and cause: unreadable (not what "
    "the project writes there) or processing_failed (its handling failed and was undone).",
    ["service", "topic", "cause"],
)

# From event time (the upstream system's clock) it spans months when history is replayed, so
# the buckets reach a week; from append time (the broker's clock) it is the pipeline's delay.
EVENT_TIME_LATENCY = Histogram(
    "inspections_event_time_latency_seconds",
    "From an event's own time to the end of its processing.",
    ["service", "topic"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400, 604800),
)
APPEND_LATENCY = Histogram(
    "inspections_append_latency_seconds",
    "From a record's append to its topic (Kafka timestamp) to the end of its processing.",
    ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
# How many records a batch holds decides what a record costs (a batch's commit, its state
# writes and its sends are shared by its records): the figure linger and commit are set by.
BATCH_RECORDS = Histogram(
    "inspections_batch_records",
    "Records in each batch a worker applied and committed as one unit of work.",
    ["service", "topic"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
CONSUMER_LAG = Gauge(
    "inspections_consumer_lag_records",
    "Records appended to a partition this worker reads and not yet processed by it (end "
    "offset minus the next offset to process).",
    ["service", "topic", "partition"],
)

EVENTS_IRREGULAR = Counter(
    "inspections_events_irregular_total",
    "Inbound events out of the usual course, by kind: duplicate (an id processed before; "
    "changes nothing), late (its time before its partition's stream time; applied as it "
    "comes), noted (an anomaly the rules recorded: a report for a visit never scheduled, an "
    "acknowledgement of an escalation nobody raised, a visit ended twice, ...).",
    ["service", "kind"],
)

BREACHES = Counter(
    "inspections_breaches_total",
    "deadline.breached events emitted, by the service that judged them and by kind.",
    ["service", "kind"],
)
DEADLINES_OPEN = Gauge(
    "inspections_deadlines_open",
    "Deadlines open (not yet met or breached) on the partitions this worker owns.",
    ["service"],
)

VISITS = Gauge(
    "inspections_visits",
    "Inspection visits by state (unscheduled, scheduled, on_site, ended, feedback_delivered, "
    "reported).",
    ["state"],
)
CAMPAIGN_COVERAGE = Gauge(
    "inspections_campaign_coverage_ratio",
    "Share of a campaign's planned units inspected in time so far (1 is full coverage).",
    ["campaign"],
)

ESCALATIONS_OPEN = Gauge(
    "inspections_escalations_open",
    "Open escalations in the register, by the authority they are with and their level.",
    ["authority", "level"],
)
ESCALATIONS_MISSED_AT_TOP = Gauge(
    "inspections_escalations_missed_at_top",
    "Escalations the top of the chain let pass its limit: nobody is left to escalate to.",
    ["authority"],
)
ACKNOWLEDGEMENTS_UNMATCHED = Counter(
    "inspections_acknowledgements_unmatched_total",
    "escalation.acknowledged or escalation.resolved naming an escalation nobody raised.",
    ["type"],
)
ESCALATION_NOTICES = Counter(
    "inspections_escalation_events_total",
    "escalation.raised, escalation.escalated and escalation.withdrawn events emitted, by type "
    "and authority.",
    ["type", "authority"],
)

BUILD = Info(
    "inspections_build",
    "The build a worker runs: the project's version, Python's, faust-streaming's and "
    "kafka-python's (always 1).",
)
BUILD.info(build.info())

WORKER_READY = Gauge(
    "inspections_worker_ready",
    "1 when the worker has its partitions and its tables are recovered (as /readyz), else 0.",
    ["service"],
)


def initialise(service: str, publishes_rejections: bool = False) -> None:
    """Export 0 for every known breach kind (and rejection cause) from the start: a counter
    first seen at 1 would show Prometheus no increase, and its alert would not fire."""
    from kernel.vocabulary import BREACH_KINDS, IRREGULAR, PROCESSING_FAILED
    from schemas.gate import CAUSES

    for kind in BREACH_KINDS:
        BREACHES.labels(service, kind)
    for cause in CAUSES if publishes_rejections else (PROCESSING_FAILED,):
        RECORDS_REJECTED.labels(cause)
    for kind in IRREGULAR:
        EVENTS_IRREGULAR.labels(service, kind)
    DEADLINES_OPEN.labels(service)


def set_counts(gauge: Gauge, counts: dict[tuple[str, ...], int | float],
               shown: set[tuple[str, ...]]) -> None:
    """Set ``gauge`` to ``counts`` (label values → value); series in ``shown`` but no longer
    counted go to 0, so a dashboard sees them fall rather than freeze."""
    for labels in shown - set(counts):
        gauge.labels(*labels).set(0)
    for labels, value in counts.items():
        gauge.labels(*labels).set(value)
    shown.update(counts)

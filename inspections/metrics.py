"""Prometheus metrics, defined once for every worker, served on the worker's ``/metrics``."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

RECORDS_REJECTED = Counter(
    "inspections_records_rejected_total",
    "Records of inspections.events the gate refused, by cause (one per record, counted by the "
    "service that publishes rejections).",
    ["cause"],
)
EVENTS_ACCEPTED = Counter(
    "inspections_events_accepted_total",
    "Records of inspections.events the gate accepted, by service and event type.",
    ["service", "type"],
)

BREACHES = Counter(
    "inspections_breaches_total",
    "deadline.breached events emitted, by the service that judged them and by kind.",
    ["service", "kind"],
)

ESCALATIONS_OPEN = Gauge(
    "inspections_escalations_open",
    "Open escalations in the register, by the authority they are with and their level.",
    ["authority", "level"],
)
ACKNOWLEDGEMENTS_UNMATCHED = Counter(
    "inspections_acknowledgements_unmatched_total",
    "escalation.acknowledged or escalation.resolved naming an escalation nobody raised.",
    ["type"],
)
ESCALATION_NOTICES = Counter(
    "inspections_escalation_events_total",
    "escalation.raised and escalation.escalated events emitted, by type and authority.",
    ["type", "authority"],
)


def serve(app) -> None:
    """Add ``GET /metrics`` to a faust app's web server."""

    @app.page("/metrics")
    async def metrics(web, request):
        # aiohttp refuses a charset in content_type=, so the header goes in whole.
        return web.bytes(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

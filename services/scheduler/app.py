"""The scheduler, declared once (``SERVICE``): what it reads, where what it derives goes, what
it keeps; and what its worker serves (pages, gauges, the clock). It holds no rule.

The faust worker (``runtime.faust_runner.worker``) and the in-memory runner
(``runtime.memory_runner.memory``: replay, audit, benchmark, tests) run this declaration.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

from kernel.breaches import Breach
from kernel.due import due_view
from kernel.policy_log import STORE, Adopted
from kernel.topology import EVERY, SIDE, UNIT, Read, Service, Store, View, Write, first_found
from runtime.config import topics
from runtime.handling.publishing import Tagged
from runtime.handling.reporting import report_breach
from runtime.plumbing import metrics
from schemas.envelope import breach_event, tick_events
from services.scheduler import config
from services.scheduler.flow import (
    CAMPAIGN,
    STATUS,
    Completions,
    Crossing,
    PlanForward,
    ReportsOwed,
    SchedulerFlow,
    StatusSent,
    WatermarkForward,
)
from services.scheduler.rules import UnitState, Visit, open_deadlines, visit_state
from services.scheduler.store import CampaignStore
from services.scheduler.views import SchedulerViews as Model
from services.scheduler.views import campaign_summary

NAME = "scheduler"
CLOCK_SOURCE = "urn:inspections:clock:scheduler"
CROSSINGS = Tagged({"plan": PlanForward, "completions": Completions,
                    "watermark": WatermarkForward, "owed": ReportsOwed,
                    "status": StatusSent})


def unit_key(breach: Breach) -> bytes:
    return breach.unit_id.encode()


def serve(worker) -> None:
    """What only the scheduler's worker has: its gauges and the clock."""
    app, settings, stores = worker.app, worker.settings, worker.stores
    policy = config.policy(settings)
    tz = policy.timezone
    campaigns, timelines, visits = stores["campaigns"], stores["timelines"], stores["visits"]
    shown: dict[str, set] = {"visits": set(), "coverage": set()}

    def gauges(partitions: list[int], owns_side: bool) -> None:
        metrics.DEADLINES_OPEN.labels(NAME).set(
            sum(len(t) for p in partitions if (t := timelines.get(p)) is not None))
        counts: dict[tuple[str], int] = {}
        for p in partitions:
            for _, status in visits.items_in(p):
                counts[(status,)] = counts.get((status,), 0) + 1
        metrics.set_counts(metrics.VISITS, counts, shown["visits"])
        coverage = {}
        if owns_side:  # the campaign side lives on one partition: only its owner counts it
            for key in campaigns:
                if key.startswith(CAMPAIGN) and \
                        (summary := campaign_summary(campaigns[key], tz)) is not None:
                    coverage[(summary["campaign_id"],)] = summary["coverage"]
        metrics.set_counts(metrics.CAMPAIGN_COVERAGE, coverage, shown["coverage"])

    worker.gauges = gauges

    if settings.clock_interval_s > 0:
        publisher = f"{socket.gethostname()}:{os.getpid()}"
        events = worker.topics[topics.EVENTS]

        @app.timer(interval=settings.clock_interval_s, on_leader=True)
        async def clock() -> None:
            """The clock publisher: one ``clock.ticked`` to every partition, from the leader
            (of the live generation: one catching up beside it publishes nothing)."""
            if not worker.quiet.is_live:
                return
            now = datetime.now(timezone.utc).replace(microsecond=0).astimezone(tz)
            for partition, value in tick_events(now, range(settings.partitions),
                                                source=CLOCK_SOURCE, publisher=publisher):
                await events.send(value=value, partition=partition)


def _flow(settings) -> SchedulerFlow:
    policies = config.policies(settings)
    return SchedulerFlow(policies.starting, settings.partitions, policies)


SERVICE = Service(
    name=NAME,
    reads=(
        Read(topics.EVENTS, SchedulerFlow.on_event, contract=True),
        Read(topics.SCHEDULER_PROGRESS, SchedulerFlow.on_crossing, partitioned=False,
             decode=CROSSINGS.unpack),
    ),
    writes=(
        Write(Breach, topics.BREACHES, encode=breach_event, key=unit_key, report=report_breach),
        Write(Crossing, topics.SCHEDULER_PROGRESS, encode=lambda f, _: CROSSINGS.encode(f)),
    ),
    stores=(
        Store("units", "units", value_type=UnitState, entities=("visits",),
              entity_types=(Visit,)),
        Store("timelines", "timelines", of="units", derive=open_deadlines),
        Store("seen", "seen"),
        Store("visits", "index", of="units", field="visits", derive=visit_state),
        Store("campaigns", "custom", partitioned=False, value_type=CampaignStore),
        Store(STORE, "values", value_type=Adopted),
    ),
    flow=_flow,
    publishes_rejections=True,
    views=(
        View("unit", "/units/{unit_id}", UNIT, Model.unit_here, first_found,
             missing="unit {unit_id}", file="units", each=Model.every_unit, floats=True),
        View("visit", "/visits/{visit_id}", EVERY, Model.visit_here, first_found,
             missing="visit {visit_id}"),
        View("campaigns", "/campaigns", SIDE, Model.summaries_here, Model.summaries),
        View("campaign", "/campaigns/{campaign_id}", SIDE, Model.campaign_here,
             Model.campaign, missing="campaign {campaign_id}", rows="unit",
             file="campaigns", each=Model.every_campaign, whole=Model.whole_campaign),
        View("due", "/due", EVERY, Model.due_here, due_view),
        View("status_reports", "/campaigns/{campaign_id}/status-reports", SIDE,
             Model.status_here, first_found, missing="status reports of campaign {campaign_id}",
             file="status_reports", each=Model.every_status),
    ),
    read_model=lambda settings: Model(config.policy(settings), CAMPAIGN, STATUS),
    serve=serve,
    adopts_policy=True,
)

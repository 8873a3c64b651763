"""The scheduler, declared once (``SERVICE``): what it reads, where what it derives goes, what
it keeps; and what its worker serves (pages, gauges, the clock). It holds no rule.

The faust worker (``runtime.worker``) and the in-memory runner (``runtime.memory``: replay,
audit, benchmark, tests) run this declaration.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

from kernel.breaches import Breach
from kernel.due import latest
from kernel.topology import Read, Service, Store, Write
from runtime import metrics, topics
from runtime.http import json_or_404, paged_in_order, with_next
from runtime.publishing import Tagged
from runtime.reporting import report_breach
from schemas.envelope import breach_event, tick_events
from services.scheduler import config
from services.scheduler.flow import (
    CAMPAIGN,
    Completions,
    Crossing,
    PlanForward,
    SchedulerFlow,
    WatermarkForward,
)
from services.scheduler.rules import UnitState, Visit
from services.scheduler.store import CampaignStore
from services.scheduler.views import (
    campaign_summary,
    campaign_view,
    due_of_campaign,
    due_of_unit,
    unit_view,
    visit_page,
)

NAME = "scheduler"
CLOCK_SOURCE = "urn:inspections:clock:scheduler"
CROSSINGS = Tagged({"plan": PlanForward, "completions": Completions,
                    "watermark": WatermarkForward})


def unit_key(breach: Breach) -> bytes:
    return breach.unit_id.encode()


def serve(worker) -> None:
    """The scheduler worker's pages, gauges and clock."""
    app, settings, stores = worker.app, worker.settings, worker.stores
    policy = config.policy(settings)
    tz = policy.timezone
    units, campaigns, timelines = stores["units"], stores["campaigns"], stores["timelines"]

    def view_of(unit_id: str) -> dict | None:
        state = units.get(unit_id)
        return None if state is None else unit_view(state, policy)

    @app.page("/units/{unit_id}")
    @worker.by_unit()
    async def unit_page(web, request, unit_id: str):
        return json_or_404(web, view_of(unit_id), f"unit {unit_id}")

    @app.page("/visits/{visit_id}")
    async def visit(web, request, visit_id: str):
        def local(partitions: list[int]) -> list:
            unit_id = units.unit_of(partitions, "visits", visit_id)
            found = visit_page(view_of(unit_id), visit_id) if unit_id is not None else None
            return [found] if found else []

        return await worker.gather(web, request, local, lambda found: json_or_404(
            web, found[0] if found else None, f"visit {visit_id}"))

    @app.page("/campaigns")
    @worker.on_side()
    async def campaign_list(web, request):
        listed = [campaign_summary(campaigns[key], tz) for key in sorted(campaigns)
                  if key.startswith(CAMPAIGN)]
        return web.json({"campaigns": [c for c in listed if c is not None]})

    @app.page("/campaigns/{campaign_id}")
    @worker.on_side()
    async def campaign_page(web, request, campaign_id: str):
        """The campaign, with a page of its unit rows in the plan's order (``cursor``: the
        last unit id of the page before); only that page's units are asked of their owners."""
        campaign = campaigns.get(f"{CAMPAIGN}{campaign_id}")
        if campaign is None or campaign.plan is None:
            return json_or_404(web, None, f"campaign {campaign_id}")
        try:
            shown, after = paged_in_order([u.unit_id for u in campaign.plan.units], str,
                                          request.query.get("limit"),
                                          request.query.get("cursor"))
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)
        rows = await worker.by_units(request, shown, "/units/{}", view_of)
        view = campaign_view(campaign, rows, tz)
        kept = set(shown)
        return web.json(with_next(
            {**view, "units": [u for u in view["units"] if u["unit_id"] in kept]}, after))

    @app.page("/due")
    async def due(web, request):
        def local(partitions: list[int]) -> list:
            t = latest(tl.stream_time for p in partitions
                       if (tl := timelines.get(p)) is not None)
            found = [{"as_of": None if t is None else t.isoformat()}]
            found += [item.view() for p in partitions for unit_id in units.units_in(p)
                      for item in due_of_unit(units[unit_id], policy)]
            if worker.owns_side():
                found += [item.view() for key in sorted(campaigns) if key.startswith(CAMPAIGN)
                          for item in due_of_campaign(campaigns[key], tz)]
            return found

        return await worker.gather_due(web, request, local)

    shown: dict[str, set] = {"visits": set(), "coverage": set()}
    tallies = stores["tally"]

    def gauges(partitions: list[int], owns_side: bool) -> None:
        metrics.DEADLINES_OPEN.labels(NAME).set(
            sum(len(t) for p in partitions if (t := timelines.get(p)) is not None))
        counts: dict[tuple[str], int] = {}
        for p in partitions:
            for status, n in (tallies.get(str(p)) or {}).items():
                counts[(status,)] = counts.get((status,), 0) + n
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
        Store("timelines", "timelines"),
        Store("seen", "seen"),
        Store("tally", "values", value_type=dict[str, int]),  # partition -> visits by state
        Store("campaigns", "custom", partitioned=False, value_type=CampaignStore),
    ),
    flow=lambda settings: SchedulerFlow(config.policy(settings), settings.partitions),
    publishes_rejections=True,
    serve=serve,
)

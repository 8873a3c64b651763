"""Faust wiring of the scheduler: read, call the flow (and through it the pure cores), write.

It holds no rule. Two agents, as there are two topics:
- ``intake`` reads ``inspections.events``: every record through the gate (the scheduler is
  where rejections are published), then each event through ``UnitFlow``;
- ``campaigns`` reads ``inspections.scheduler.progress`` (one partition) through
  ``CampaignFlow``, and keeps the cross-unit views.
For each batch of records: compute on staged state, send what was derived, then write the
state (``runtime.batching.Batch``).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

import services
from kernel.codec import dumps
from runtime import logs, metrics, topics
from runtime.app import make_app, raw_topic
from runtime.app import table as state_table
from runtime.batching import batches
from runtime.http import json_or_404
from runtime.intake import accepted
from runtime.observe import Observer
from runtime.publishing import PACK_BYTES, Tagged
from runtime.reporting import add_breaches, report_irregular
from runtime.settings import Settings
from runtime.state import (
    SeenIds,
    TableView,
    Timelines,
    forget_cached_state_on_rebalance,
)
from schemas.envelope import rejection_event, tick_events
from services.scheduler import config
from services.scheduler.flow import (
    CAMPAIGN,
    CampaignFlow,
    PlanForward,
    UnitFlow,
    UnitForward,
    WatermarkForward,
    campaign_coverage,
    campaign_list_view,
    campaign_view,
    visit_counts,
)
from services.scheduler.rules import UnitState
from services.scheduler.store import CampaignStore

SERVICE = "scheduler"
CLOCK_SOURCE = "urn:inspections:clock:scheduler"
FORWARDS = Tagged({"plan": PlanForward, "unit": UnitForward, "watermark": WatermarkForward})


def create_app(settings: Settings):
    policy = config.policy(settings)
    app = make_app(SERVICE, settings)
    events = raw_topic(app, topics.name(settings, topics.EVENTS))
    rejected = raw_topic(app, topics.name(settings, topics.REJECTED))
    breaches = raw_topic(app, topics.name(settings, topics.BREACHES))
    progress = raw_topic(app, topics.name(settings, topics.SCHEDULER_PROGRESS))
    log = logs.get(__name__)

    def table(name: str, partitions: int | None = None):
        return state_table(app, settings, name, partitions)

    # Per unit and per partition, co-partitioned with inspections.events.
    cached = settings.state_cache_entries
    units = TableView(table("units"), UnitState, cache_entries=cached)
    timelines = Timelines(table("timelines"))
    seen = SeenIds(table("seen-ids"), cached)
    # On the one partition of the progress topic.
    store_table = table("campaigns", 1)
    store = CampaignStore(store_table, cached)
    unit_views = TableView(table("unit-views", 1), dict, cache_entries=cached)
    visit_index = TableView(table("visit-index", 1), str, by_prefix={"tally:": dict},
                            cache_entries=cached)

    forget_cached_state_on_rebalance(app)

    events_name, progress_name = events.get_topic_name(), progress.get_topic_name()
    shown: dict[str, set] = {"visits": set(), "coverage": set()}

    def gauges(actives: set[tuple[str, int]]) -> None:
        metrics.DEADLINES_OPEN.labels(SERVICE).set(sum(
            len(timelines[p].pending) for t, p in actives if t == events_name and p in timelines))
        # The campaign side lives on one partition: only its owner counts it.
        owner = (progress_name, 0) in actives
        metrics.set_counts(metrics.VISITS, {(state,): n for state, n in
                                            visit_counts(visit_index).items()}
                           if owner else {}, shown["visits"])
        metrics.set_counts(metrics.CAMPAIGN_COVERAGE, {
            (cid,): ratio for cid, ratio in campaign_coverage(store, unit_views,
                                                              policy.timezone).items()}
                           if owner else {}, shown["coverage"])

    observer = Observer(app, settings, SERVICE, sources=services.sources(SERVICE, settings),
                        gauges=gauges, publishes_rejections=True)
    unit_flow = UnitFlow(policy)
    campaign_flow = CampaignFlow(policy.timezone, settings.partitions)

    def rejecter(outbox):
        def reject(message, rejection) -> None:
            record = rejection_event(
                service=SERVICE, topic=message.topic, partition=message.partition,
                offset=message.offset, timestamp_ms=int(round(message.timestamp * 1000)),
                key=message.key, value=message.value, reason=rejection.reason,
            )
            outbox.add(message.key, dumps(record))
            metrics.RECORDS_REJECTED.labels(rejection.cause).inc()
            log.warning("record rejected", cause=rejection.cause, reason=rejection.reason)
        return reject

    @app.agent(events, concurrency=1)
    async def intake(stream):
        async for batch in batches(stream, settings, observer.progress):
            staged_units, staged_timelines = batch.stage(units), batch.stage(timelines)
            seen_before = batch.seen(seen)
            out_breaches = batch.outbox(breaches)
            out_progress = batch.outbox(progress, FORWARDS.encode, PACK_BYTES)
            reject = rejecter(batch.outbox(rejected))
            for message, event in accepted(batch, observer.progress, on_rejected=reject):
                found, forwards = unit_flow.on_event(event, message.partition,
                                                     staged_timelines, staged_units,
                                                     seen_before)
                report_irregular(unit_flow.irregular, SERVICE)
                add_breaches(out_breaches, found, SERVICE)
                for forward in forwards:
                    # A unit's later news in the batch replaces its earlier; a partition's
                    # plans and watermarks keep their place between its units' news.
                    out_progress.add(b"progress", forward, lane=message.partition, replaces=(
                        forward.unit_id if isinstance(forward, UnitForward) else None))
            await batch.commit()

    @app.agent(progress, concurrency=1)
    async def campaigns(stream):
        async for batch in batches(stream, settings, observer.progress):
            staged = [batch.stage(store), batch.stage(unit_views), batch.stage(visit_index)]
            out_breaches = batch.outbox(breaches)
            for message in batch.records():
                for forward in FORWARDS.unpack(message.value):
                    found = campaign_flow.on_forward(forward, *staged)
                    add_breaches(out_breaches, found, SERVICE)
            await batch.commit()

    if settings.clock_interval_s > 0:
        publisher = f"{socket.gethostname()}:{os.getpid()}"

        @app.timer(interval=settings.clock_interval_s, on_leader=True)
        async def clock() -> None:
            """The clock publisher: one ``clock.ticked`` to every partition, from the leader."""
            now = datetime.now(timezone.utc).replace(microsecond=0).astimezone(policy.timezone)
            ticks = tick_events(now, range(settings.partitions), source=CLOCK_SOURCE,
                                publisher=publisher)
            for partition, value in ticks:
                await events.send(value=value, partition=partition)

    # The views live on the one partition of the progress topic: a request is routed to the
    # worker that owns it.
    @app.page("/campaigns")
    @app.table_route(store_table, exact_key="progress")
    async def campaign_list(web, request):
        return web.json({"campaigns": campaign_list_view(store, unit_views, policy.timezone)})

    @app.page("/campaigns/{campaign_id}")
    @app.table_route(store_table, exact_key="progress")
    async def campaign_page(web, request, campaign_id: str):
        view = campaign_view(store.get(f"{CAMPAIGN}{campaign_id}"), unit_views,
                             policy.timezone)
        return json_or_404(web, view, f"campaign {campaign_id}")

    @app.page("/units/{unit_id}")
    @app.table_route(store_table, exact_key="progress")
    async def unit_page(web, request, unit_id: str):
        return json_or_404(web, unit_views.get(unit_id), f"unit {unit_id}")

    @app.page("/visits/{visit_id}")
    @app.table_route(store_table, exact_key="progress")
    async def visit_page(web, request, visit_id: str):
        unit_id = visit_index.get(visit_id)
        view = unit_views.get(unit_id) if unit_id else None
        visit = next((v for v in (view or {}).get("visits", []) if v["visit_id"] == visit_id),
                     None)
        return json_or_404(web, visit and {"unit_id": unit_id, **visit}, f"visit {visit_id}")

    return app

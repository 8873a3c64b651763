"""Faust wiring of the findings service: read, call the flow, write. It holds no rule.

Three agents: ``intake`` (``inspections.events``, through the gate: bad records are skipped,
the scheduler reports them), ``breaches`` (``inspections.breaches`` of every service, for the
assessment; co-partitioned with the events by unit) and ``views`` (the one partition of
``inspections.findings.views``, which keeps the problem lists and assessments served here).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

import services
from kernel.vocabulary import FINDING_STATUSES as STATUSES
from runtime import logs, topics
from runtime.app import make_app, raw_topic
from runtime.app import table as state_table
from runtime.batching import batches
from runtime.http import json_or_404
from runtime.intake import accepted
from runtime.observe import Observer
from runtime.publishing import PACK_BYTES, Tagged
from runtime.reporting import add_breaches, report_irregular
from runtime.settings import Settings
from runtime.state import SeenIds, TableView, forget_cached_state_on_rebalance
from schemas.events import DeadlineBreached
from services.findings import config
from services.findings.flow import (
    AssessmentForward,
    FindingForward,
    FindingsFlow,
    ViewsFlow,
    problem_list,
    year_assessment,
)
from services.findings.rules import UnitFindings

SERVICE = "findings"
FORWARDS = Tagged({"finding": FindingForward, "assessment": AssessmentForward})


def create_app(settings: Settings):
    app = make_app(SERVICE, settings)
    events = raw_topic(app, topics.name(settings, topics.EVENTS))
    breaches = raw_topic(app, topics.name(settings, topics.BREACHES))
    views_topic = raw_topic(app, topics.name(settings, topics.FINDINGS_VIEWS))
    observer = Observer(app, settings, SERVICE, sources=services.sources(SERVICE, settings))
    log = logs.get(__name__)
    forget_cached_state_on_rebalance(app)

    cached = settings.state_cache_entries
    units = TableView(state_table(app, settings, "units"), UnitFindings, cache_entries=cached)
    seen = SeenIds(state_table(app, settings, "seen-ids"), cached)
    views_table = state_table(app, settings, "views", 1)
    views = TableView(views_table, dict, by_prefix={"unit:": tuple[str, ...],
                                                    "visit:": tuple[str, ...]},
                      cache_entries=cached)
    flow = FindingsFlow(config.policy(settings))
    views_flow = ViewsFlow()
    # Both unit agents change the same unit's state: one at a time, across their awaits.
    unit_lock = asyncio.Lock()

    def forward_all(outbox, forwards) -> None:
        for forward in forwards:
            # A finding's (or a unit's assessment's) later change in the batch replaces its
            # earlier one; the first keeps its place, so finding ids stay in recording order.
            outbox.add(b"views", forward, replaces=(
                ("finding", forward.view["finding_id"]) if isinstance(forward, FindingForward)
                else ("assessment", forward.unit_id)))

    @app.agent(events, concurrency=1)
    async def intake(stream):
        async for batch in batches(stream, settings, observer.progress):
            async with unit_lock:
                staged, seen_before = batch.stage(units), batch.seen(seen)
                out_breaches = batch.outbox(breaches)
                out_views = batch.outbox(views_topic, FORWARDS.encode, PACK_BYTES)
                for _message, event in accepted(batch, observer.progress):
                    found, forwards = flow.on_event(event, staged, seen_before)
                    report_irregular(flow.irregular, SERVICE)
                    add_breaches(out_breaches, found, SERVICE)
                    forward_all(out_views, forwards)
                await batch.commit()

    @app.agent(breaches, concurrency=1)
    async def breaches_read(stream):
        async for batch in batches(stream, settings, observer.progress):
            async with unit_lock:
                staged = batch.stage(units)
                out_views = batch.outbox(views_topic, FORWARDS.encode, PACK_BYTES)
                for message in batch.records():
                    try:
                        breach = DeadlineBreached.model_validate_json(message.value)
                    except ValidationError as exc:
                        log.warning("unreadable breach skipped", error=str(exc)[:300])
                        continue
                    forward_all(out_views, flow.on_breach(breach, staged))
                await batch.commit()

    @app.agent(views_topic, concurrency=1)
    async def views_kept(stream):
        async for batch in batches(stream, settings, observer.progress):
            staged = batch.stage(views)
            for message in batch.records():
                for forward in FORWARDS.unpack(message.value):
                    views_flow.on_forward(forward, staged)
            await batch.commit()

    # The views live on the one partition of the views topic: requests go to its owner.
    route = app.table_route(views_table, exact_key="views")

    def _problem_list(web, request, kind: str, ident: str):
        """A unit's or a visit's problem list, filtered by ?status= and ?category=."""
        status, category = request.query.get("status"), request.query.get("category")
        if status is not None and status not in STATUSES:
            return web.json({"error": f"status must be one of {list(STATUSES)}"}, status=400)
        found = problem_list(views, f"{kind}:{ident}", status, category)
        return json_or_404(web, None if found is None else {f"{kind}_id": ident,
                                                            "findings": found},
                           f"findings of {kind} {ident}")

    @app.page("/units/{unit_id}/findings")
    @route
    async def unit_findings(web, request, unit_id: str):
        return _problem_list(web, request, "unit", unit_id)

    @app.page("/visits/{visit_id}/findings")
    @route
    async def visit_findings(web, request, visit_id: str):
        return _problem_list(web, request, "visit", visit_id)

    @app.page("/findings/{finding_id}")
    @route
    async def one_finding(web, request, finding_id: str):
        return json_or_404(web, views.get(f"finding:{finding_id}"), f"finding {finding_id}")

    @app.page("/assessments/{year}")
    @route
    async def assessments(web, request, year: str):
        if not year.isdigit():
            return web.json({"error": "year must be a number, e.g. 2026"}, status=400)
        return web.json(year_assessment(views, int(year)))

    return app

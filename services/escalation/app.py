"""Faust wiring of the escalation service: read, call the flow, write. It holds no rule.

Two agents: ``intake`` (``inspections.events`` through the gate, then each event through
``EscalationFlow``) and ``register`` (the one partition of ``inspections.escalation.register``,
which keeps the register served here and the open-escalation gauges).
"""

from __future__ import annotations

import services
from kernel.breaches import Breach
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
from schemas.envelope import notice_event
from services.escalation import config
from services.escalation.flow import (
    EscalationFlow,
    EscalationForward,
    RegisterFlow,
    missed_at_top_counts,
    open_counts,
    open_escalations,
)
from services.escalation.rules import Notice, UnitEscalations, Unmatched

SERVICE = "escalation"
FORWARDS = Tagged({"escalation": EscalationForward})


def create_app(settings: Settings):
    app = make_app(SERVICE, settings)
    events = raw_topic(app, topics.name(settings, topics.EVENTS))
    escalations = raw_topic(app, topics.name(settings, topics.ESCALATIONS))
    breaches = raw_topic(app, topics.name(settings, topics.BREACHES))
    register_topic = raw_topic(app, topics.name(settings, topics.ESCALATION_REGISTER))
    log = logs.get(__name__)
    forget_cached_state_on_rebalance(app)

    cached = settings.state_cache_entries
    units = TableView(state_table(app, settings, "units"), UnitEscalations,
                      cache_entries=cached)
    timelines = Timelines(state_table(app, settings, "timelines"))
    seen = SeenIds(state_table(app, settings, "seen-ids"), cached)
    register_table = state_table(app, settings, "register", 1)
    register = TableView(register_table, dict, by_prefix={"unit:": tuple[str, ...],
                                                          "open:": tuple[str, int]},
                         cache_entries=cached)
    flow = EscalationFlow(config.policy(settings))
    register_flow = RegisterFlow()

    # The register keeps its own tally of open escalations: the gauges read it after each
    # batch and every interval of the observer, never counting the register itself.
    shown: dict[str, set] = {"open": set(), "top": set()}

    def register_gauges(owner: bool) -> None:
        metrics.set_counts(metrics.ESCALATIONS_OPEN,
                           {(a, str(level)): n for (a, level), n in open_counts(register).items()}
                           if owner else {}, shown["open"])
        metrics.set_counts(metrics.ESCALATIONS_MISSED_AT_TOP,
                           {(a,): n for a, n in missed_at_top_counts(register).items()}
                           if owner else {}, shown["top"])

    events_name, register_name = events.get_topic_name(), register_topic.get_topic_name()

    def gauges(actives: set[tuple[str, int]]) -> None:
        metrics.DEADLINES_OPEN.labels(SERVICE).set(sum(
            len(timelines[p].pending) for t, p in actives if t == events_name and p in timelines))
        register_gauges((register_name, 0) in actives)  # the register's one partition

    observer = Observer(app, settings, SERVICE, sources=services.sources(SERVICE, settings),
                        gauges=gauges)

    def publish(derived, out_escalations, out_breaches) -> None:
        found = [d for d in derived if isinstance(d, Breach)]
        for item in derived:
            if isinstance(item, Notice):
                out_escalations.add(item.escalation.unit_id.encode(),
                                    dumps(notice_event(item, SERVICE)))
                metrics.ESCALATION_NOTICES.labels(item.type, item.escalation.authority).inc()
            elif isinstance(item, Unmatched):
                metrics.ACKNOWLEDGEMENTS_UNMATCHED.labels(item.event_type).inc()
                log.warning("unmatched", event_id=item.event_id, type=item.event_type,
                            escalation_id=item.escalation_id)
        add_breaches(out_breaches, found, SERVICE)

    @app.agent(events, concurrency=1)
    async def intake(stream):
        async for batch in batches(stream, settings, observer.progress):
            staged_units, staged_timelines = batch.stage(units), batch.stage(timelines)
            seen_before = batch.seen(seen)
            out_escalations, out_breaches = batch.outbox(escalations), batch.outbox(breaches)
            out_register = batch.outbox(register_topic, FORWARDS.encode, PACK_BYTES)
            for message, event in accepted(batch, observer.progress):
                derived, forwards = flow.on_event(event, message.partition, staged_timelines,
                                                  staged_units, seen_before)
                report_irregular(flow.irregular, SERVICE)
                publish(derived, out_escalations, out_breaches)
                for forward in forwards:
                    # An escalation's later change in the batch replaces its earlier one.
                    out_register.add(b"register", forward,
                                     replaces=forward.view["escalation_id"])
            await batch.commit()

    @app.agent(register_topic, concurrency=1)
    async def register_kept(stream):
        async for batch in batches(stream, settings, observer.progress):
            staged = batch.stage(register)
            for message in batch.records():
                for forward in FORWARDS.unpack(message.value):
                    register_flow.on_forward(forward, staged)
            await batch.commit()
            register_gauges(True)

    route = app.table_route(register_table, exact_key="register")

    @app.page("/escalations")
    @route
    async def open_list(web, request):
        q = request.query
        level = q.get("level")
        if level is not None and not level.isdigit():
            return web.json({"error": "level must be a number"}, status=400)
        overdue = q.get("overdue")
        if overdue not in (None, "true", "false"):
            return web.json({"error": "overdue must be true or false"}, status=400)
        found = open_escalations(register, q.get("authority"),
                                 int(level) if level else None, q.get("unit"),
                                 None if overdue is None else overdue == "true")
        return web.json({"open": len(found), "escalations": found})

    @app.page("/escalations/{escalation_id}")
    @route
    async def one(web, request, escalation_id: str):
        return json_or_404(web, register.get(f"escalation:{escalation_id}"),
                           f"escalation {escalation_id}")

    @app.page("/units/{unit_id}/escalations")
    @route
    async def of_unit(web, request, unit_id: str):
        ids = register.get(f"unit:{unit_id}")
        return json_or_404(web, None if ids is None else {
            "unit_id": unit_id, "escalations": [register[f"escalation:{i}"] for i in ids]},
            f"escalations of unit {unit_id}")

    return app

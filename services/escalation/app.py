"""The escalation service, declared once (``SERVICE``): what it reads, where what it derives
goes, what it keeps; and what its worker serves (the register, gauges). It holds no rule."""

from __future__ import annotations

from kernel.breaches import Breach
from kernel.due import latest
from kernel.topology import Read, Service, Store, Write
from runtime import metrics, topics
from runtime.http import (
    json_or_404,
    page_size,
    paged,
    paged_in_order,
    whole_number,
    with_next,
)
from runtime.reporting import report_breach, report_notice, report_unmatched
from schemas.envelope import breach_event, notice_event
from services.escalation import config
from services.escalation.flow import EscalationFlow
from services.escalation.rules import Escalation, Notice, UnitEscalations, Unmatched
from services.escalation.views import (
    due_of,
    escalation_view,
    of_unit,
    open_register,
    selected,
)

NAME = "escalation"


def serve(worker) -> None:
    """The escalation worker's pages (the register) and gauges."""
    app, stores = worker.app, worker.stores
    units, open_ones, timelines = stores["units"], stores["open"], stores["timelines"]

    def view_in(eid: str, partitions: list[int]) -> dict | None:
        unit_id = units.unit_of(partitions, "escalations", eid)
        escalation = units[unit_id].escalations.get(eid) if unit_id is not None else None
        return None if escalation is None else escalation_view(escalation)

    @app.page("/escalations")
    async def open_list(web, request):
        q = request.query
        try:
            level = whole_number(q.get("level"), "level")
            page_size(q.get("limit"))  # a bad limit refused before any worker is asked
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)
        overdue = q.get("overdue")
        if overdue not in (None, "true", "false"):
            return web.json({"error": "overdue must be true or false"}, status=400)
        wanted = dict(authority=q.get("authority"), level=level,
                      unit=q.get("unit"), overdue=None if overdue is None else overdue == "true")

        def local(partitions):
            views = (escalation_view(units[unit_id].escalations[eid]) for p in partitions
                     for eid in open_ones.names_in(p)
                     if (unit_id := open_ones.get(eid)) is not None)
            return [v for v in views if selected(v, **wanted)]

        def answer(found: list):
            try:
                page, after = paged(found, lambda v: v["escalation_id"], q.get("limit"),
                                    q.get("cursor"))
            except ValueError as exc:
                return web.json({"error": str(exc)}, status=400)
            return web.json(open_register(found, page, after))

        return await worker.gather(web, request, local, answer)

    @app.page("/due")
    async def due(web, request):
        def local(partitions):
            found = [{"as_of": stream_time(partitions)}]
            for p in partitions:
                for eid in open_ones.names_in(p):
                    if (unit_id := open_ones.get(eid)) is not None and \
                            (item := due_of(units[unit_id].escalations[eid])) is not None:
                        found.append(item.view())
            return found

        return await worker.gather_due(web, request, local)

    def stream_time(partitions) -> str | None:
        t = latest(tl.stream_time for p in partitions if (tl := timelines.get(p)) is not None)
        return None if t is None else t.isoformat()

    @app.page("/escalations/{escalation_id}")
    async def one(web, request, escalation_id: str):
        def local(partitions):
            view = view_in(escalation_id, partitions)
            return [] if view is None else [view]

        return await worker.gather(web, request, local, lambda found: json_or_404(
            web, found[0] if found else None, f"escalation {escalation_id}"))

    @app.page("/units/{unit_id}/escalations")
    @worker.by_unit()
    async def of_unit_page(web, request, unit_id: str):
        """A page of the unit's escalations in the order raised (``cursor``: the last id of
        the page before)."""
        found = of_unit(units.get(unit_id))
        if found is None:
            return json_or_404(web, None, f"escalations of unit {unit_id}")
        try:
            page, after = paged_in_order(found["escalations"], lambda e: e["escalation_id"],
                                         request.query.get("limit"), request.query.get("cursor"))
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)
        return web.json(with_next({**found, "escalations": page}, after))

    shown: dict[str, set] = {"open": set(), "top": set()}
    tallies = stores["tally"]

    def gauges(partitions: list[int], owns_side: bool) -> None:
        metrics.DEADLINES_OPEN.labels(NAME).set(
            sum(len(t) for p in partitions if (t := timelines.get(p)) is not None))
        opened: dict[tuple[str, str], int] = {}
        top: dict[tuple[str], int] = {}
        for p in partitions:
            tally = tallies.get(str(p)) or {}
            for key, n in tally.get("open", {}).items():
                authority, level = key.rsplit("|", 1)
                opened[(authority, level)] = opened.get((authority, level), 0) + n
            for authority, n in tally.get("missed_at_top", {}).items():
                top[(authority,)] = top.get((authority,), 0) + n
        metrics.set_counts(metrics.ESCALATIONS_OPEN, opened, shown["open"])
        metrics.set_counts(metrics.ESCALATIONS_MISSED_AT_TOP, top, shown["top"])

    worker.gauges = gauges


SERVICE = Service(
    name=NAME,
    reads=(Read(topics.EVENTS, EscalationFlow.on_event, contract=True),),
    writes=(
        Write(Notice, topics.ESCALATIONS, encode=notice_event,
              key=lambda n: n.escalation.unit_id.encode(), report=report_notice),
        Write(Breach, topics.BREACHES, encode=breach_event,
              key=lambda b: b.unit_id.encode(), report=report_breach),
        Write(Unmatched, None, report=report_unmatched),
    ),
    stores=(
        Store("units", "units", value_type=UnitEscalations, entities=("escalations",),
              entity_types=(Escalation,)),
        Store("timelines", "timelines"),
        Store("seen", "seen"),
        Store("open", "values", value_type=str),  # present while open: its unit
        # partition -> open escalations by "authority|level", and missed at the top
        Store("tally", "values", value_type=dict[str, dict[str, int]]),
    ),
    flow=lambda settings: EscalationFlow(config.policy(settings)),
    serve=serve,
)

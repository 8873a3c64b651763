"""The findings service, declared once (``SERVICE``): what it reads, where what it derives
goes, what it keeps; and what its worker serves. It holds no rule."""

from __future__ import annotations


from kernel.breaches import Breach
from kernel.topology import Read, Service, Store, Write
from kernel.vocabulary import FINDING_STATUSES
from runtime import logs, topics
from runtime.http import json_or_404, page_size, paged, paged_in_order, with_next, year_of
from runtime.reporting import report_breach
from schemas.derived import DeadlineBreached
from schemas.envelope import breach_event
from services.findings import config
from services.findings.flow import FindingsFlow, seen_of
from services.findings.rules import (
    BreachRecord,
    BreachSeen,
    Finding,
    UnitFindings,
    VisitRecord,
)
from services.findings.views import (
    finding_view,
    problem_list,
    unit_assessment,
    year_assessment,
)

NAME = "findings"
log = logs.get(__name__)


def read_breach(raw: bytes) -> list[BreachSeen]:
    """A record of ``inspections.breaches``: the breach, checked against the contract's
    ``deadline.breached``; a record that is not one raises, and the runner skips, counts and
    logs it."""
    event = DeadlineBreached.model_validate_json(raw)
    d = event.data
    return [BreachSeen(event.id, d.unit_id, d.kind, d.subject_id, d.due, event.source)]


def serve(worker) -> None:
    """The findings worker's pages: problem lists, findings, the annual assessment inputs."""
    app, settings, stores = worker.app, worker.settings, worker.stores
    tz = config.policy(settings).timezone
    units = stores["units"]

    def filters(web, request):
        q = request.query
        status, category = q.get("status"), q.get("category")
        if status is not None and status not in FINDING_STATUSES:
            return None, web.json({"error": f"status must be one of {list(FINDING_STATUSES)}"},
                                  status=400)
        return (status, category), None

    def listed(web, request, key: str, ident: str, found: list | None, what: str):
        """A problem list, a page of it (``limit``, ``cursor``: the last finding id of the
        page before) in the order recorded, with the cursor of the next."""
        if found is None:
            return json_or_404(web, None, what)
        q = request.query
        try:
            page, after = paged_in_order(found, lambda f: f["finding_id"], q.get("limit"),
                                         q.get("cursor"))
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)
        return web.json({key: ident, "findings": page, "next_cursor": after})

    @app.page("/units/{unit_id}/findings")
    @worker.by_unit()
    async def unit_findings(web, request, unit_id: str):
        wanted, refusal = filters(web, request)
        if refusal is not None:
            return refusal
        state = units.get(unit_id)
        found = problem_list(state, *wanted) if state is not None else None
        return listed(web, request, "unit_id", unit_id, found, f"findings of unit {unit_id}")

    def owned(field: str, ident: str, partitions: list[int]):
        """The state of the unit that holds ``ident`` among its ``field``, in ``partitions``."""
        unit_id = units.unit_of(partitions, field, ident)
        return None if unit_id is None else units.get(unit_id)

    @app.page("/visits/{visit_id}/findings")
    async def visit_findings(web, request, visit_id: str):
        wanted, refusal = filters(web, request)
        if refusal is not None:
            return refusal

        def local(partitions):
            state = owned("visits", visit_id, partitions)
            found = problem_list(state, *wanted, visit_id=visit_id) if state else None
            return [] if found is None else [found]

        return await worker.gather(web, request, local, lambda found: listed(
            web, request, "visit_id", visit_id, found[0] if found else None,
            f"findings of visit {visit_id}"))

    @app.page("/findings/{finding_id}")
    async def one_finding(web, request, finding_id: str):
        def local(partitions):
            state = owned("findings", finding_id, partitions)
            finding = state.findings.get(finding_id) if state is not None else None
            return [] if finding is None else [finding_view(state.unit_id, finding)]

        return await worker.gather(web, request, local, lambda found: json_or_404(
            web, found[0] if found else None, f"finding {finding_id}"))

    @app.page("/assessments/{year}")
    async def assessments(web, request, year: str):
        """The year's rows by unit id, a page of them (``cursor``: the last unit id of the
        page before)."""
        q = request.query
        try:
            wanted = year_of(year)
            page_size(q.get("limit"))  # refused before any worker is asked
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)

        def local(partitions):
            found = []
            for p in partitions:
                for unit_id in units.units_in(p):
                    if (entry := unit_assessment(units[unit_id], wanted, tz)) is not None:
                        found.append(entry)
            return found

        def answer(found: list):
            page, after = paged(found, lambda a: a["unit_id"], q.get("limit"), q.get("cursor"))
            return web.json(with_next(year_assessment(wanted, page), after))

        return await worker.gather(web, request, local, answer)


SERVICE = Service(
    name=NAME,
    reads=(
        Read(topics.EVENTS, FindingsFlow.on_event, contract=True),
        # Every service's breaches, for the assessment; its own it keeps as it derives them.
        Read(topics.BREACHES, FindingsFlow.on_breach, decode=read_breach,
             take=lambda breach, source: seen_of(breach, source),
             skip_source=NAME),
    ),
    writes=(
        Write(Breach, topics.BREACHES, encode=breach_event,
              key=lambda b: b.unit_id.encode(), report=report_breach),
    ),
    stores=(
        Store("units", "units", value_type=UnitFindings,
              entities=("findings", "visits", "breaches"),
              entity_types=(Finding, VisitRecord, BreachRecord)),
        Store("seen", "seen"),
    ),
    flow=lambda settings: FindingsFlow(config.policy(settings), NAME),
    serve=serve,
)

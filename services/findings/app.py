"""The findings service, declared once (``SERVICE``): what it reads, where what it derives
goes, what it keeps, and the views it serves (problem lists, findings, the annual assessment
inputs). It holds no rule."""

from __future__ import annotations

from kernel.breaches import Breach
from kernel.due import due_view
from kernel.topology import EVERY, UNIT, Read, Service, Store, View, Write, first_found
from runtime.config import topics
from runtime.handling.reporting import report_breach
from schemas.derived import DeadlineBreached
from schemas.envelope import breach_event
from services.findings import config
from services.findings.aftercare import open_deadlines
from services.findings.flow import FindingsFlow, seen_of
from services.findings.rules import shown_ids
from services.findings.state import (
    BreachRecord,
    BreachSeen,
    Finding,
    UnitFindings,
    VisitRecord,
)
from services.findings.views import FindingsViews as Model

NAME = "findings"


def read_breach(raw: bytes) -> list[BreachSeen]:
    """A record of ``inspections.breaches``: the breach, checked against the contract's
    ``deadline.breached``; a record that is not one raises, and the runner skips, counts and
    logs it."""
    event = DeadlineBreached.model_validate_json(raw)
    d = event.data
    return [BreachSeen(event.id, d.unit_id, d.kind, d.subject_id, d.due, event.source)]


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
        Store("timelines", "timelines", of="units", derive=open_deadlines),
        Store("seen", "seen", of="units", derive=shown_ids),
    ),
    flow=lambda settings: FindingsFlow(config.policy(settings), NAME),
    views=(
        View("unit_findings", "/units/{unit_id}/findings", UNIT, Model.of_unit_here,
             Model.of_unit, missing="findings of unit {unit_id}"),
        View("visit_findings", "/visits/{visit_id}/findings", EVERY, Model.of_visit_here,
             Model.of_visit, missing="findings of visit {visit_id}"),
        View("finding", "/findings/{finding_id}", EVERY, Model.one_here, first_found,
             missing="finding {finding_id}", file="findings", each=Model.every_finding),
        View("assessment", "/assessments/{year}", EVERY, Model.assessment_here,
             Model.assessment, file="assessments", each=Model.every_assessment,
             whole=Model.whole_assessment, floats=True),
        View("unit_ledger", "/units/{unit_id}/ledger", UNIT, Model.ledger_of_unit_here,
             first_found, missing="ledger of unit {unit_id}", file="ledgers",
             each=Model.every_ledger),
        View("ledger", "/ledger", EVERY, Model.ledger_here, Model.ledger),
        View("due", "/due", EVERY, Model.due_here, due_view),
        View("listed", "/listed", EVERY, Model.listed_here, Model.listed),
        View("transfers", "/transfers", EVERY, Model.transfers_here, Model.transfers),
    ),
    read_model=lambda settings: Model(config.policy(settings).timezone),
)

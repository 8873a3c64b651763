"""The escalation service, declared once (``SERVICE``): what it reads, where what it derives
goes, what it keeps, the views it serves (the register, each escalation, what is due);
and what only its worker has (gauges). It holds no rule."""

from __future__ import annotations

from kernel.breaches import Breach
from kernel.due import due_view
from kernel.policy_log import STORE, Adopted
from kernel.topology import EVERY, UNIT, Read, Service, Store, View, Write, first_found
from runtime.config import topics
from runtime.handling.reporting import report_breach, report_notice, report_unmatched
from runtime.plumbing import metrics
from schemas.envelope import breach_event, notice_event
from services.escalation import config
from services.escalation.flow import EscalationFlow
from services.escalation.rules import (
    Escalation,
    Notice,
    UnitEscalations,
    Unmatched,
    open_deadlines,
    shown_ids,
)
from services.escalation.views import EscalationViews as Model
from services.escalation.views import open_entry

NAME = "escalation"


def serve(worker) -> None:
    """What only the escalation worker has: its gauges, counted from the ``open`` index."""
    timelines, open_ones = worker.stores["timelines"], worker.stores["open"]
    shown: dict[str, set] = {"open": set(), "top": set()}

    def gauges(partitions: list[int], owns_side: bool) -> None:
        metrics.DEADLINES_OPEN.labels(NAME).set(
            sum(len(t) for p in partitions if (t := timelines.get(p)) is not None))
        opened: dict[tuple[str, str], int] = {}
        top: dict[tuple[str], int] = {}
        for p in partitions:
            for _, (_, authority, level, status) in open_ones.items_in(p):
                at = (authority, str(level))
                opened[at] = opened.get(at, 0) + 1
                if status == "missed_at_top":
                    top[(authority,)] = top.get((authority,), 0) + 1
        metrics.set_counts(metrics.ESCALATIONS_OPEN, opened, shown["open"])
        metrics.set_counts(metrics.ESCALATIONS_MISSED_AT_TOP, top, shown["top"])

    worker.gauges = gauges


def _policies(settings) -> tuple:
    policies = config.policies(settings)
    return policies.starting, policies


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
        Store("timelines", "timelines", of="units", derive=open_deadlines),
        Store("seen", "seen", of="units", derive=shown_ids),
        Store("open", "index", of="units", field="escalations", derive=open_entry),
        Store(STORE, "values", value_type=Adopted),
    ),
    flow=lambda settings: EscalationFlow(*_policies(settings)),
    views=(
        View("register", "/escalations", EVERY, Model.open_here, Model.register),
        View("due", "/due", EVERY, Model.due_here, due_view),
        View("escalation", "/escalations/{escalation_id}", EVERY, Model.one_here, first_found,
             missing="escalation {escalation_id}", file="escalations", each=Model.every),
        View("unit_escalations", "/units/{unit_id}/escalations", UNIT, Model.of_unit_here,
             Model.of_unit, missing="escalations of unit {unit_id}"),
    ),
    read_model=lambda settings: Model(),
    serve=serve,
)

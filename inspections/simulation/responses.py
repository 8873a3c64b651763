"""How the people of a simulated campaign answer a finding: each escalation it raises
acknowledged, resolved, handled or decided as its scenario says (late, early, never), and the
team's corrections (an amendment, a withdrawal). The simulator (``simulate.py``) calls these
for each finding it records; ``b`` is its builder (the scenario, the escalation policy, the
events emitted)."""

from __future__ import annotations

from datetime import datetime, timedelta

from inspections.simulation.scenario import FindingSpec
from kernel import ids
from kernel.vocabulary import (
    ACK,
    DOCUMENT,
    INVESTIGATION_CONCLUDED,
    LISTED_DECIDED,
    LISTED_LIFTED,
    MEASURES,
    RESOLVED,
)
from services.escalation.rules import actions_for, holder_when_answered


def answer(b, f_id: str, unit: str, visit_id: str, recorded: datetime,
            category: str, spec: FindingSpec | None, n: int,
            besides: frozenset = frozenset()) -> None:
    """Each escalation the finding raises (but those ``besides``), answered as the scenario
    says."""
    routes = b.policy.routes
    source = f"urn:inspections:authorities:{unit}"
    for action in actions(category, spec):
        if action in besides:
            continue
        route = routes[action]
        escalation_id = ids.escalation_id(f_id, action)
        key = f"{escalation_id}/answer"
        if spec and spec.never_answered:
            continue
        if spec and spec.listed and action == "recommend_listed_supervision":
            decided = recorded + timedelta(hours=24)
            b.emit(LISTED_DECIDED, decided, unit, key, source,
                   {"finding_id": f_id, "unit_id": unit, "listed": True,
                    "document_no": f"{unit}-gpdb-{n:03d}"}, visit_id)
            if spec.lifted_after_days:
                b.emit(LISTED_LIFTED, decided + timedelta(days=spec.lifted_after_days), unit,
                       f"{f_id}/lifted", source, {"finding_id": f_id, "unit_id": unit,
                                                  "document_no": f"{unit}-zp-{n:03d}"},
                       visit_id)
            continue
        if spec and spec.concluded_after_h and action == "transfer_for_investigation":
            b.emit(INVESTIGATION_CONCLUDED, recorded + timedelta(hours=spec.concluded_after_h),
                   unit, key, source, {"finding_id": f_id, "unit_id": unit,
                                       "outcome": "诫勉谈话 a formal admonition",
                                       "by": "discipline_authorities"}, visit_id)
            continue
        if spec and spec.resolved_after_h:
            b.emit(RESOLVED, recorded + timedelta(hours=spec.resolved_after_h),
                   unit, key, source, {"escalation_id": escalation_id, "unit_id": unit,
                                       "resolution": "referred to the competent department"},
                   visit_id)
            continue
        low, high = b.s.response_hours
        hours = spec.answer_after_h if spec and spec.answer_after_h else b.rng.uniform(low, high)
        at = recorded + timedelta(seconds=round(hours * 3600))
        if spec and spec.acknowledged_early:
            b.emit("escalation.acknowledged", recorded + timedelta(hours=1), unit,
                   f"{escalation_id}/early", source,
                   {"escalation_id": escalation_id, "unit_id": unit, "by": route.authority},
                   visit_id)
        authority = holder_when_answered(b.policy, action, recorded, at)
        if route.closed_by == ACK:
            b.emit(ACK, at, unit, key, source,
                   {"escalation_id": escalation_id, "unit_id": unit, "by": authority}, visit_id)
        elif route.closed_by == DOCUMENT:
            b.emit(DOCUMENT, at, unit, key, source,
                   {"finding_id": f_id, "unit_id": unit,
                    "document_no": f"{unit}-enf-2026-{n:03d}",
                    "department": f"{unit} local regulator"}, visit_id)
        else:
            b.emit(MEASURES, at, unit, key, source,
                   {"finding_id": f_id, "unit_id": unit, "description": "停产整顿，撤离人员"},
                   visit_id)


def actions(category: str, spec: FindingSpec | None) -> list[str]:
    return actions_for(category, bool(spec and spec.cannot_ensure_safety),
                       bool(spec and spec.listed_supervision_advised))


def correct(b, f_id: str, unit: str, visit_id: str, recorded: datetime,
             category: str, spec: FindingSpec, n: int, source: str) -> None:
    """The corrections a special finding asks for: an amendment (the escalations it newly
    needs answered as usual), a withdrawal."""
    if spec.amended_to:
        at = recorded + timedelta(hours=spec.amended_after_h)
        b.emit("finding.amended", at, unit, f"{f_id}/amended", source,
               {"finding_id": f_id, "unit_id": unit, "category": spec.amended_to,
                "cannot_ensure_safety": spec.cannot_ensure_safety,
                "listed_supervision_advised": spec.listed_supervision_advised,
                "reason": f"记录有误 recorded as {category} by mistake"}, visit_id)
        answer(b, f_id, unit, visit_id, at, spec.amended_to, spec, n,
                besides=frozenset(actions(category, spec)))
    if spec.withdrawn_after_h:
        b.emit("finding.withdrawn", recorded + timedelta(hours=spec.withdrawn_after_h), unit,
               f"{f_id}/withdrawn", source,
               {"finding_id": f_id, "unit_id": unit, "reason": "重复记录 recorded twice"},
               visit_id)

"""The findings of one unit: each team's problem list (问题清单), each finding followed to its
rectification, and the inputs of the city's annual work-safety target assessment.

Pure: standard library only; events are read by attribute as the contract names them.

Rules, each a sentence:
- A general finding keeps its evidence and carries rectification advice; one recorded without
  evidence, or without advice, is recorded all the same and is a breach
  (``evidence_or_advice_missing``), judged when it is recorded. A setting turns the rule off.
- A finding is pending until handled (an enforcement document issued, immediate measures
  taken), rectified (``finding.rectified``, or listed as rectified in a rectification report),
  then confirmed by a spot check; a spot check that finds it not rectified reopens it.
- A correction (``finding.amended``) changes the finding's category, flags and the texts it
  names, and is kept in its history with what changed; the general-finding rule is judged at
  recording only. A withdrawn finding (``finding.withdrawn``) stays on the list, withdrawn,
  and no longer counts in the assessment.
- The assessment keeps inputs only — visit done, findings by category, share rectified, share
  confirmed, report on time or late, breaches by kind — and invents no score.
- The rectification ledger (整改台账): each finding is ``open`` when recorded, ``claimed`` when
  the unit says it is rectified (its report, or ``finding.rectified``), ``pending`` when the
  report lists it so, ``verified`` (销号) when a check confirms it, ``reopened`` when a check
  finds it not rectified, ``withdrawn`` when withdrawn (final); a claim does not undo a
  verification.
- A finding left ``pending`` by a report, or ``reopened`` by a check, is owed by the unit
  again: a follow-up due the policy's months (two) after that report or check; a claim, a
  verification or a withdrawal in time ends it; missed, it is a breach
  (``rectification_follow_up_overdue``), once per report or check that set it.
- Checks after the report are kept by method (抽查, 暗访, 回头看); the listed-supervision
  decision (挂牌督办) and its lifting (摘牌), and the outcome of a transfer for investigation,
  are kept on the finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from kernel import capacity, ids
from kernel.breaches import Breach
from kernel.deadlines import Deadline, Decision
from kernel.frozen import evolve
from kernel.unit_core import UnitCore
from kernel.vocabulary import (
    DOCUMENT,
    FINDING_AMENDED,
    FINDING_RECORDED,
    FINDING_WITHDRAWN,
    FINDING_RECTIFIED,
    INVESTIGATION_CONCLUDED,
    LISTED_DECIDED,
    LISTED_LIFTED,
    MEASURES,
    REPORT_SUBMITTED,
    SPOT_CHECK,
    VISIT_ENDED,
    VISIT_SCHEDULED,
    VISIT_STARTED,
)
from services.findings.aftercare import FOLLOWED, follow, ledger_next, overdue
from services.findings.state import (
    BreachRecord,
    BreachSeen,
    Check,
    Conclusion,
    Finding,
    Listing,
    Step,
    UnitFindings,
    VisitRecord,
)

RULE = "evidence_or_advice_missing"


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def evidence_or_advice_missing(finding: Finding) -> str | None:
    if finding.category != "general":
        return None
    missing = [name for name, gone in (
        ("evidence", not any(not _blank(e) for e in finding.evidence)),
        ("advice", _blank(finding.advice)),
    ) if gone]
    return f"general finding recorded without {' and '.join(missing)}" if missing else None


class FindingsCore(UnitCore[UnitFindings]):
    """The unit core the deadline loop drives; its table ``ON`` is at its end."""

    State = UnitFindings

    # -- visits ------------------------------------------------------------------------
    def _visit(self, state: UnitFindings, visit_id: str) -> VisitRecord:
        return state.visits.get(visit_id) or VisitRecord(visit_id)

    def _year(self, t: datetime) -> int:
        return t.astimezone(self.policy.timezone).year

    def _visit_scheduled(self, state, event, now):
        visit = self._visit(state, event.data.visit_id)
        return Decision(_put_visit(state, evolve(visit, year=event.data.planned_start.year,
                                                 campaign_id=event.data.campaign_id)))

    def _visit_started(self, state, event, now):
        visit = self._visit(state, event.data.visit_id)
        if visit.year is None:
            visit = evolve(visit, year=self._year(event.time))
        return Decision(_put_visit(state, visit))

    def _visit_ended(self, state, event, now):
        visit = self._visit(state, event.data.visit_id)
        if visit.ended_at is not None:
            return Decision(state)
        visit = evolve(visit, ended_at=event.time, year=visit.year or self._year(event.time))
        return Decision(_put_visit(state, visit))

    # -- findings ----------------------------------------------------------------------
    def _finding_recorded(self, state, event, now):
        d = event.data
        if d.finding_id in state.findings:
            return Decision(_note(state, event, f"finding {d.finding_id} recorded again; the "
                                                "first record stands"))
        if len(state.findings) >= capacity.FINDINGS:
            return Decision(_note(state, event, f"finding {d.finding_id} not kept: the unit "
                                                f"has {capacity.FINDINGS} findings"))
        finding = Finding(
            finding_id=d.finding_id, visit_id=d.visit_id, category=d.category,
            description=d.description, evidence=tuple(d.evidence),
            cannot_ensure_safety=d.cannot_ensure_safety, recorded_at=event.time,
            sector=d.sector, aspect=d.aspect, item=d.item, site_id=d.site_id, advice=d.advice,
            listed_supervision_advised=d.listed_supervision_advised,
            history=(Step(event.time, event.type, event.id, "pending", "", "open"),),
        )
        if d.visit_id not in state.visits and len(state.visits) < capacity.VISITS:
            state = _put_visit(state, VisitRecord(d.visit_id, year=self._year(event.time)))
        derived = ()
        detail = evidence_or_advice_missing(finding) if self.policy.general_rule else None
        if detail:
            derived = (Breach(
                deadline_id=ids.rule_deadline(finding.finding_id, RULE), kind=RULE, unit_id=state.unit_id,
                subject_id=finding.finding_id, due=event.time, breached_at=event.time,
                cause_id=event.id, correlation_id=event.correlationid, detail=detail,
            ),)
        return Decision(_put(state, finding), derived=derived)

    def _enforcement_document_issued(self, state, event, now):
        d = event.data
        return self._step(state, event, d.finding_id, "handled",
                          f"enforcement document {d.document_no} by {d.department}")

    def _immediate_measures_taken(self, state, event, now):
        return self._step(state, event, event.data.finding_id, "handled",
                          f"immediate measures: {event.data.description}")

    def _finding_rectified(self, state, event, now):
        return self._step(state, event, event.data.finding_id, "rectified", ledger="claimed")

    def _rectification_report_submitted(self, state, event, now):
        d = event.data
        visit = state.visits.get(d.visit_id)
        if visit is None:
            state = _note(state, event, f"report {d.report_id} for unknown visit {d.visit_id}")
            visit = VisitRecord(d.visit_id, year=self._year(event.time))
        if visit.report_at is None:
            state = _put_visit(state, evolve(visit, report_id=d.report_id,
                                              report_at=event.time))
        opened, closed = [], []
        for finding_id in d.rectified_finding_ids:
            step = self._step(state, event, finding_id, "rectified",
                              f"listed as rectified in report {d.report_id}", ledger="claimed")
            state = step.state
            opened.extend(step.open), closed.extend(step.close)
        for finding_id in d.pending_finding_ids:
            step = self._step(state, event, finding_id, None,
                              f"listed as pending in report {d.report_id}", ledger="pending")
            state = step.state
            opened.extend(step.open), closed.extend(step.close)
        return Decision(state, open=tuple(opened), close=tuple(closed))

    def _finding_amended(self, state, event, now):
        d = event.data
        finding = state.findings.get(d.finding_id)
        if finding is None:
            return Decision(_note(state, event, f"amendment names unknown finding "
                                                f"{d.finding_id}"))
        corrected = {"category": d.category, "cannot_ensure_safety": d.cannot_ensure_safety,
                     "listed_supervision_advised": d.listed_supervision_advised}
        for name in ("description", "advice"):
            if getattr(d, name) is not None:
                corrected[name] = getattr(d, name)
        if d.evidence is not None:
            corrected["evidence"] = tuple(d.evidence)
        changes = [f"{name} {_shown(getattr(finding, name))} → {_shown(value)}"
                   for name, value in corrected.items() if getattr(finding, name) != value]
        note = f"amended ({d.reason}): " + ("; ".join(changes) or "nothing changed")
        finding = evolve(finding, **corrected, history=capacity.stepped(
            finding.history, Step(event.time, event.type, event.id, finding.status, note)))
        return Decision(_put(state, finding))

    def _finding_withdrawn(self, state, event, now):
        return self._step(state, event, event.data.finding_id, "withdrawn",
                          f"withdrawn: {event.data.reason}", ledger="withdrawn")

    def _spot_check_conducted(self, state, event, now):
        d = event.data
        status = "confirmed" if d.result == "confirmed" else "reopened"
        ledger = "verified" if d.result == "confirmed" else "reopened"
        visit = state.visits.get(d.visit_id)
        if visit is None:
            state = _note(state, event, f"check for unknown visit {d.visit_id}")
        elif len(visit.checks) < capacity.CHECKS:
            check = Check(event.id, event.time, d.method, d.result, len(d.finding_ids))
            state = _put_visit(state, evolve(visit, checks=(*visit.checks, check)))
        opened, closed = [], []
        for finding_id in d.finding_ids:
            step = self._step(state, event, finding_id, status,
                              f"{d.method}: {d.result}", ledger=ledger)
            state = step.state
            opened.extend(step.open), closed.extend(step.close)
        return Decision(state, open=tuple(opened), close=tuple(closed))

    # -- listed supervision and transfers, to their end ------------------------------------
    def _listed_supervision_decided(self, state, event, now):
        d = event.data
        listing = Listing(d.listed, event.time, d.document_no)
        said = f"listed supervision: {'listed' if d.listed else 'not listed'}" + (
            f", document {d.document_no}" if d.document_no else "")
        return self._kept(state, event, d.finding_id, said, listing=listing)

    def _listed_supervision_lifted(self, state, event, now):
        d = event.data
        finding = state.findings.get(d.finding_id)
        if finding is not None and (finding.listing is None or not finding.listing.listed
                                    or finding.listing.lifted_at is not None):
            return Decision(_note(state, event, f"finding {d.finding_id} lifted, but it is not "
                                                "listed"))
        said = "listing lifted" + (f", document {d.document_no}" if d.document_no else "")
        listing = None if finding is None else evolve(
            finding.listing, lifted_at=event.time, lifted_document_no=d.document_no)
        return self._kept(state, event, d.finding_id, said, listing=listing)

    def _investigation_concluded(self, state, event, now):
        d = event.data
        return self._kept(state, event, d.finding_id, f"investigation concluded by {d.by}: "
                                                      f"{_shown(d.outcome)}",
                          conclusion=Conclusion(d.outcome, d.by, event.time))

    def _kept(self, state, event, finding_id: str, note: str, **changes):
        """Keep what ``event`` says of a finding (its status unchanged), with a step."""
        finding = state.findings.get(finding_id)
        if finding is None:
            return Decision(_note(state, event, f"{event.type} names unknown finding "
                                                f"{finding_id}"))
        finding = evolve(finding, **changes, history=capacity.stepped(
            finding.history, Step(event.time, event.type, event.id, finding.status, note)))
        return Decision(_put(state, finding))

    def _step(self, state, event, finding_id: str, status: str | None, note: str = "",
              ledger: str | None = None):
        """Move one finding to ``status`` (None: keep it) and its ledger to ``ledger`` (None:
        keep it), write it in its history, and open or end its follow-up."""
        finding = state.findings.get(finding_id)
        if finding is None:
            return Decision(_note(state, event, f"{event.type} names unknown finding "
                                                f"{finding_id}"))
        new_status = finding.status if status is None else _next(finding.status, status)
        handling = finding.handling
        if event.type in (DOCUMENT, MEASURES):
            handling = capacity.stepped(handling, note)
        new_ledger = finding.ledger if ledger is None else ledger_next(finding.ledger, ledger)
        # A step moved the ledger when its state changed, or when a report or check set a
        # pending or reopened finding so again (a follow-up of its own).
        again = ledger in FOLLOWED and new_ledger == ledger
        moved = new_ledger if new_ledger != finding.ledger or again else ""
        finding = evolve(finding, status=new_status, handling=handling, ledger=new_ledger,
                         history=capacity.stepped(finding.history, Step(
                             event.time, event.type, event.id, new_status, note, moved)))
        finding, opened, closed = follow(finding, moved, event, self.policy.follow_up_months,
                                         self.policy.timezone, state.unit_id)
        return Decision(_put(state, finding), open=opened, close=closed)

    # -- deadlines: the follow-ups ---------------------------------------------------------
    def expire(self, state: UnitFindings, deadline: Deadline, now: datetime, cause):
        found = overdue(state.findings.get(ids.finding_of_follow_up(deadline.deadline_id)),
                        deadline, now, cause, state.unit_id)
        if found is None:
            return Decision(state)
        finding, breach = found
        return Decision(_put(state, finding), derived=(breach,))

    # -- breaches (every service's) ----------------------------------------------------------
    def breach_read(self, state: UnitFindings, breach: BreachSeen) -> UnitFindings:
        if breach.event_id in state.breaches or len(state.breaches) >= capacity.BREACHES:
            return state
        return evolve(state, breaches={**state.breaches, breach.event_id: BreachRecord(
            breach.event_id, breach.kind, breach.subject_id, breach.due)})

    def _recorded_by(state, event) -> bool:
        """Whether the finding this ``finding.recorded`` names was recorded by it."""
        found = state.findings.get(event.data.finding_id)
        return found is not None and found.history[0].event_id == event.id

    WITNESSES = {FINDING_RECORDED: _recorded_by}

    ON = {
        VISIT_SCHEDULED: _visit_scheduled,
        VISIT_STARTED: _visit_started,
        VISIT_ENDED: _visit_ended,
        FINDING_RECORDED: _finding_recorded,
        DOCUMENT: _enforcement_document_issued,
        MEASURES: _immediate_measures_taken,
        FINDING_RECTIFIED: _finding_rectified,
        REPORT_SUBMITTED: _rectification_report_submitted,
        SPOT_CHECK: _spot_check_conducted,
        FINDING_AMENDED: _finding_amended,
        FINDING_WITHDRAWN: _finding_withdrawn,
        LISTED_DECIDED: _listed_supervision_decided,
        LISTED_LIFTED: _listed_supervision_lifted,
        INVESTIGATION_CONCLUDED: _investigation_concluded,
    }


def shown_ids(state: UnitFindings) -> Iterator[str]:
    """The ids of the events the unit's findings show applied (each one's first step's):
    with ``WITNESSES``, what a worker need not keep among the ids it has seen."""
    return (f.history[0].event_id for f in state.findings.values())


def _shown(value, limit: int = 200) -> str:
    """A corrected field's value in a note, at most ``limit`` characters (the finding keeps
    the whole value; a step's note is not a second copy of its evidence)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _next(current: str, wanted: str) -> str:
    # Handling done does not undo a rectification; a withdrawn finding stays withdrawn;
    # everything else moves as the event says.
    if current == "withdrawn" or wanted == "handled" and current in ("rectified", "confirmed"):
        return current
    return wanted


def _put(state: UnitFindings, finding: Finding) -> UnitFindings:
    return evolve(state, findings={**state.findings, finding.finding_id: finding})


def _put_visit(state: UnitFindings, visit: VisitRecord) -> UnitFindings:
    if visit.visit_id not in state.visits and len(state.visits) >= capacity.VISITS:
        return state  # a unit's visits beyond its capacity are not kept (the scheduler says)
    return evolve(state, visits={**state.visits, visit.visit_id: visit})


def _note(state: UnitFindings, event, text: str) -> UnitFindings:
    return evolve(state, unmatched=capacity.noted(state.unmatched, f"{event.id}: {text}"))

"""Escalation: each finding handed to the right authority in time, and a miss taken higher.

Pure: standard library only; events are read by attribute as the contract names them.

Rules (``docs/domain.md``), each a sentence:
- A finding is routed by its category: a violation to the local regulator for an enforcement
  document; a major hazard reported to the city work safety office; a major issue to the city
  Work Safety Committee for instructions; a misconduct clue reported to the committee; an
  accountability case transferred to the discipline authorities. A general finding goes
  nowhere.
- A general, violation or major-hazard finding where safety cannot be ensured also asks the
  unit's government for immediate measures; a finding the team advises for listed supervision
  (挂牌督办) also goes to the unit's own Work Safety Committee.
- An escalation is closed by its closing event at any level (the enforcement document, the
  immediate measures, or an acknowledgement), and by ``escalation.resolved`` at any level.
  Before a level-up, an acknowledgement does not close one whose closing event is a document
  or measures; after a level-up, any acknowledgement closes it.
- When stream time passes the due time of an open escalation, that is a breach, and it goes
  one level up with a fresh limit counted from the due time it missed; at the city government
  a miss is a breach and nothing goes higher. At the due time is still in time.
- A correction (``finding.amended``) routes the finding again by its corrected category and
  flags: an open escalation it no longer needs is withdrawn; one it now needs is raised, its
  limit counted from the amendment's time (one withdrawn before is raised again, a new round
  with deadlines of its own). A withdrawn finding (``finding.withdrawn``) withdraws its open
  escalations. Breaches already emitted stay.
- The unit safety committee's decision on listed supervision (``listed_supervision.decided``,
  listed or not) closes the recommendation at any level; the outcome of an investigation
  (``investigation.concluded``) closes the transfer at any level, as a resolution does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kernel import capacity, ids
from kernel.breaches import Breach
from kernel.deadlines import Deadline, Decision
from kernel.frozen import evolve
from kernel.unit_core import UnitCore
from kernel.vocabulary import (
    ACK,
    BY_CATEGORY,
    DOCUMENT,
    ESCALATION_WITHDRAWN,
    FINDING_AMENDED,
    FINDING_RECORDED,
    FINDING_WITHDRAWN,
    HANDLED_BY,
    IMMEDIATE_MEASURES_FOR,
    INVESTIGATION_CONCLUDED,
    LISTED_DECIDED,
    MEASURES,
    NEXT_AUTHORITY,
    RESOLVED,
)


# Events that name their escalation by its finding: one nobody raised is not an anomaly here
# (the findings service keeps what they say).
NAMED_BY_FINDING = frozenset({DOCUMENT, MEASURES, LISTED_DECIDED, INVESTIGATION_CONCLUDED})


@dataclass(frozen=True)
class Route:
    action: str
    authority: str
    closed_by: str
    limit: timedelta
    first_miss: str  # the breach kind of a first-level miss


@dataclass(frozen=True)
class Policy:
    """The routes, the level-up limit, and the ladder: who is next above each authority
    (None: nobody, the top). The city's may differ from docs/domain.md's (``runtime.config.policy``)."""

    routes: dict[str, Route]
    level_up_limit: timedelta
    ladder: dict[str, str | None] = field(default_factory=lambda: dict(NEXT_AUTHORITY))


@dataclass(frozen=True)
class Step:
    time: datetime
    what: str  # raised | escalated | missed | acknowledged | closed | resolved | withdrawn | noted
    level: int
    authority: str
    due: datetime | None
    event_id: str
    by: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Escalation:
    escalation_id: str
    finding_id: str
    unit_id: str
    action: str
    level: int
    authority: str
    due: datetime
    raised_at: datetime
    correlation_id: str | None = None
    status: str = "open"  # open | closed | missed_at_top | withdrawn
    misses: int = 0
    closed_at: datetime | None = None
    history: tuple[Step, ...] = ()
    round: int = 1  # 2, 3, ...: raised again by a correction after it was withdrawn

    @property
    def is_open(self) -> bool:
        return self.status not in ("closed", "withdrawn")


@dataclass(frozen=True)
class Notice:
    """An ``escalation.raised`` or ``escalation.escalated`` to publish."""

    type: str
    escalation: Escalation
    time: datetime
    cause_id: str
    reason: str = ""  # why it was withdrawn


@dataclass(frozen=True)
class Unmatched:
    """An event naming an escalation nobody raised: kept and counted, never a crash."""

    event_id: str
    event_type: str
    escalation_id: str


@dataclass(frozen=True)
class UnitEscalations:
    unit_id: str
    escalations: dict[str, Escalation] = field(default_factory=dict)
    unmatched: tuple[Unmatched, ...] = ()


def holder_when_answered(policy: Policy, action: str, raised_at: datetime,
                         answered_at: datetime) -> str:
    """Who holds an escalation raised at ``raised_at`` when the answer comes at
    ``answered_at``, if nobody acted before: one level up for each limit missed."""
    route = policy.routes[action]
    authority, due = route.authority, raised_at + route.limit
    while answered_at > due and policy.ladder[authority] is not None:
        authority, due = policy.ladder[authority], due + policy.level_up_limit
    return authority


def actions_for(category: str, cannot_ensure_safety: bool,
                listed_supervision_advised: bool) -> list[str]:
    actions = [BY_CATEGORY[category]] if category in BY_CATEGORY else []
    if cannot_ensure_safety and category in IMMEDIATE_MEASURES_FOR:
        actions.append("take_immediate_measures")
    if listed_supervision_advised:
        actions.append("recommend_listed_supervision")
    return actions


class EscalationCore(UnitCore[UnitEscalations]):
    """The unit core the deadline loop drives; its table ``ON`` is after its handlers."""

    State = UnitEscalations

    # -- events ------------------------------------------------------------------------
    def _withdrawn(self, state, event, now):
        return self._withdraw(state, event, needed=(),
                              reason=f"finding {event.data.finding_id} withdrawn: "
                                     f"{event.data.reason}")

    def _handled(self, state, event, now):
        """An enforcement document or immediate measures: the escalation asking for it closes."""
        return self._close(state, event,
                           ids.escalation_id(event.data.finding_id, HANDLED_BY[event.type]),
                           closes=lambda e: True, what="closed")

    def _decided(self, state, event, now):
        """Listed supervision decided (listed or not): the recommendation is answered."""
        d = event.data
        listed = f"listed, document {d.document_no}" if d.listed and d.document_no else (
            "listed" if d.listed else "not listed")
        return self._close(state, event,
                           ids.escalation_id(d.finding_id, "recommend_listed_supervision"),
                           closes=lambda e: True, what="decided", note=listed)

    def _concluded(self, state, event, now):
        """The investigation's outcome: the transfer is answered."""
        d = event.data
        return self._close(state, event,
                           ids.escalation_id(d.finding_id, "transfer_for_investigation"),
                           closes=lambda e: True, what="concluded", note=d.outcome)

    def _acknowledged(self, state, event, now):
        return self._close(
            state, event, event.data.escalation_id, what="acknowledged",
            closes=lambda e: self.policy.routes[e.action].closed_by == ACK or e.level > 1)

    def _resolved(self, state, event, now):
        return self._close(state, event, event.data.escalation_id, closes=lambda e: True,
                           what="resolved")

    def _raise(self, state, event, now):
        d = event.data
        notices, opened = [], []
        for action in actions_for(d.category, d.cannot_ensure_safety,
                                  d.listed_supervision_advised):
            escalation_id = ids.escalation_id(d.finding_id, action)
            if escalation_id in state.escalations:
                continue  # the same finding recorded again raises nothing new
            if len(state.escalations) >= capacity.ESCALATIONS:
                break  # a unit past its capacity (the findings service notes the finding)
            route = self.policy.routes[action]
            due = event.time + route.limit
            escalation = Escalation(
                escalation_id=escalation_id, finding_id=d.finding_id, unit_id=state.unit_id,
                action=action, level=1, authority=route.authority, due=due,
                raised_at=event.time, correlation_id=event.correlationid,
                history=(Step(event.time, "raised", 1, route.authority, due, event.id),),
            )
            state = _put(state, escalation)
            notices.append(Notice("escalation.raised", escalation, event.time, event.id))
            opened.append(Deadline(due, _deadline_id(escalation), state.unit_id))
        return Decision(state, derived=tuple(notices), open=tuple(opened))

    def _amend(self, state, event, now):
        """Withdraw what the corrected finding no longer needs; raise what it now needs."""
        d = event.data
        needed = actions_for(d.category, d.cannot_ensure_safety, d.listed_supervision_advised)
        withdrawn = self._withdraw(state, event, needed, reason=(
            f"finding {d.finding_id} amended, no longer needs it: {d.reason}"))
        state, notices, opened = withdrawn.state, list(withdrawn.derived), []
        for action in needed:
            escalation_id = ids.escalation_id(d.finding_id, action)
            before = state.escalations.get(escalation_id)
            if before is not None and before.status != "withdrawn":
                continue  # open, or done with: nothing to raise
            route = self.policy.routes[action]
            due = event.time + route.limit
            step = Step(event.time, "raised", 1, route.authority, due, event.id,
                        note=f"needed after amendment: {d.reason}")
            escalation = Escalation(
                escalation_id=escalation_id, finding_id=d.finding_id, unit_id=state.unit_id,
                action=action, level=1, authority=route.authority, due=due,
                raised_at=event.time, correlation_id=event.correlationid,
                history=capacity.stepped(before.history if before else (), step),
                round=before.round + 1 if before else 1)
            state = _put(state, escalation)
            notices.append(Notice("escalation.raised", escalation, event.time, event.id))
            opened.append(Deadline(due, _deadline_id(escalation), state.unit_id))
        return Decision(state, derived=tuple(notices), open=tuple(opened),
                        close=withdrawn.close)

    def _withdraw(self, state, event, needed, reason: str):
        """Withdraw the finding's open escalations whose action is not ``needed``."""
        notices, closed = [], []
        for escalation in list(state.escalations.values()):
            if escalation.finding_id != event.data.finding_id or not escalation.is_open \
                    or escalation.action in needed:
                continue
            step = Step(event.time, "withdrawn", escalation.level, escalation.authority,
                        escalation.due, event.id, note=reason)
            gone = evolve(escalation, status="withdrawn", closed_at=event.time,
                          history=capacity.stepped(escalation.history, step))
            state = _put(state, gone)
            notices.append(Notice(ESCALATION_WITHDRAWN, gone, event.time, event.id, reason))
            if escalation.status == "open":  # missed at the top: no deadline left open
                closed.append(_deadline_id(escalation))
        return Decision(state, derived=tuple(notices), close=tuple(closed))

    def _close(self, state, event, escalation_id: str, closes, what: str,
               note: str | None = None):
        escalation = state.escalations.get(escalation_id)
        if escalation is None:
            if event.type in NAMED_BY_FINDING:
                return Decision(state)  # handling nobody asked for: the findings list keeps it
            miss = Unmatched(event.id, event.type, escalation_id)
            return Decision(evolve(state, unmatched=capacity.noted(state.unmatched, miss, None)),
                            derived=(miss,))
        by = getattr(event.data, "by", None)
        note = note if note is not None else getattr(event.data, "resolution", "") or ""
        if not escalation.is_open or not closes(escalation):
            step = Step(event.time, what if escalation.is_open else "noted", escalation.level,
                        escalation.authority, escalation.due, event.id, by,
                        "does not close it before a level-up" if escalation.is_open
                        else f"{what} after it was closed")
            return Decision(_put(state, evolve(escalation,
                                                history=capacity.stepped(escalation.history,
                                                                         step))))
        step = Step(event.time, what, escalation.level, escalation.authority, escalation.due,
                    event.id, by, note)
        closed = evolve(escalation, status="closed", closed_at=event.time,
                         history=capacity.stepped(escalation.history, step))
        return Decision(_put(state, closed), close=(_deadline_id(escalation),))

    def _raised_by(state, event) -> bool:
        """Whether an escalation this ``finding.recorded`` raised names it first."""
        d = event.data
        for action in actions_for(d.category, d.cannot_ensure_safety,
                                  d.listed_supervision_advised):
            found = state.escalations.get(ids.escalation_id(d.finding_id, action))
            if found is not None and found.history[0].event_id == event.id:
                return True
        return False

    WITNESSES = {FINDING_RECORDED: _raised_by}

    ON = {
        FINDING_RECORDED: _raise,
        FINDING_AMENDED: _amend,
        FINDING_WITHDRAWN: _withdrawn,
        DOCUMENT: _handled,
        MEASURES: _handled,
        ACK: _acknowledged,
        RESOLVED: _resolved,
        LISTED_DECIDED: _decided,
        INVESTIGATION_CONCLUDED: _concluded,
    }

    # -- deadlines ---------------------------------------------------------------------
    def expire(self, state: UnitEscalations, deadline: Deadline, now: datetime, cause):
        escalation_id = ids.escalation_of_deadline(deadline.deadline_id)
        escalation = state.escalations.get(escalation_id)
        if escalation is None or escalation.status != "open":
            return Decision(state)
        route = self.policy.routes[escalation.action]
        kind = route.first_miss if escalation.level == 1 else "escalation_unacknowledged"
        breach = Breach(
            deadline_id=deadline.deadline_id, kind=kind, unit_id=state.unit_id,
            subject_id=escalation_id, due=deadline.due, breached_at=now, cause_id=cause.id,
            correlation_id=escalation.correlation_id,
            detail=f"{escalation.authority} did not act on {escalation.action} at level "
                   f"{escalation.level} by {deadline.due.isoformat()}",
        )
        missed = Step(now, "missed", escalation.level, escalation.authority, deadline.due,
                      cause.id)
        higher = self.policy.ladder[escalation.authority]
        if higher is None:
            top = evolve(escalation, status="missed_at_top", misses=escalation.misses + 1,
                          history=capacity.stepped(escalation.history, missed))
            return Decision(_put(state, top), derived=(breach,))
        due = deadline.due + self.policy.level_up_limit
        up = evolve(escalation, level=escalation.level + 1, authority=higher, due=due,
                     misses=escalation.misses + 1, history=capacity.stepped(
                         capacity.stepped(escalation.history, missed),
                         Step(now, "escalated", escalation.level + 1, higher, due, cause.id)))
        return Decision(
            _put(state, up),
            derived=(breach, Notice("escalation.escalated", up, now, cause.id)),
            open=(Deadline(due, _deadline_id(up), state.unit_id),),
        )


def shown_ids(state: UnitEscalations) -> Iterator[str]:
    """The ids of the events the unit's escalations show applied (each one's first step's):
    with ``WITNESSES``, what a worker need not keep among the ids it has seen."""
    return (e.history[0].event_id for e in state.escalations.values())


def open_deadlines(state: UnitEscalations) -> Iterator[Deadline]:
    """The deadlines a unit has open: one for each escalation open and not missed at the top
    (what a worker's timeline of the partition is rebuilt from)."""
    for e in state.escalations.values():
        if e.status == "open":
            yield Deadline(e.due, _deadline_id(e), state.unit_id)


def _deadline_id(escalation: Escalation) -> str:
    return ids.escalation_deadline(escalation.escalation_id, escalation.level, escalation.round)


def _put(state: UnitEscalations, escalation: Escalation) -> UnitEscalations:
    return evolve(state, escalations={**state.escalations,
                                       escalation.escalation_id: escalation})

"""The scheduler's rules for one unit: its visits, and what each visit must reach.

Pure: standard library only. Events are read by attribute (``type``, ``id``, ``time``,
``data.<field>`` as the contract names them), so the typed events of ``schemas`` serve as they
are, and so do plain objects in tests.

Rules (``docs/domain.md``), each a sentence:
- A team is 6 to 10 people, with exactly one leader and one deputy, everyone trained (the
  city's policy file may change these counts and the training rule); where
  the plan gives the leader's rank and career, the leader is a division-level (处级) cadre
  recently retired from a leading post. Judged when the visit starts.
- A county visit lasts at least 10 days on site, a zone visit at least 6: the calendar-date
  difference in the campaign's time zone between the actual start and end. Judged at the end.
- A county visit covers at least 60 % of the unit's townships, 50 % of its key-sector
  departments and 10 key-sector enterprises; a zone visit at least 4 communities, 60 % of its
  departments and 8 enterprises. Boundaries are inclusive. Judged at the end.
- After feedback (反馈) ends, the unit reports its rectification within two calendar months:
  due at the same clock time, a day the month lacks becoming its last day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from fractions import Fraction

from kernel import capacity, ids
from kernel.breaches import Breach
from kernel.dates import add_months, calendar_days
from kernel.deadlines import Deadline, Decision
from kernel.frozen import evolve
from kernel.unit_core import UnitCore
from kernel.vocabulary import (
    CAMPAIGN_PLANNED,
    FEEDBACK_DELIVERED,
    REPORT_OVERDUE,
    REPORT_SUBMITTED,
    SITE_INSPECTED,
    STATUS_REPORT_SUBMITTED,
    VISIT_ENDED,
    VISIT_SCHEDULED,
    VISIT_STARTED,
)

REPORT_DEADLINE = "rectification_report"


@dataclass(frozen=True)
class Reach:
    """What a visit to one kind of unit must reach. ``None`` means the rule does not apply."""

    min_days: int
    township_share: Fraction | None
    min_communities: int | None
    department_share: Fraction
    min_enterprises: int


@dataclass(frozen=True)
class Policy:
    timezone: tzinfo
    county: Reach
    zone: Reach
    team_min: int
    team_max: int
    report_months: int
    status_report_months: int = 1  # 0: status reports not judged
    team_leaders: int = 1  # exactly this many leaders, and deputies
    team_deputies: int = 1
    team_trained: bool = True  # every member trained
    team_experts: int = 1  # at least this many experts (成员含专家)
    # The city committee's member units (安委会成员单位); empty: organizations not checked.
    team_organizations: frozenset[str] = frozenset()

    def reach(self, kind: str) -> Reach:
        return self.county if kind == "county" else self.zone


@dataclass(frozen=True)
class Member:
    person_id: str
    role: str
    trained: bool
    rank: str | None = None
    recently_retired: bool | None = None
    organization: str | None = None


@dataclass(frozen=True)
class Visit:
    visit_id: str
    scheduled: bool = False
    campaign_id: str | None = None
    unit_kind: str | None = None
    unit_name: str | None = None
    batch: int | None = None
    phase: int | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    townships_total: int = 0
    departments_total: int = 0
    team: tuple[Member, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # The partition's stream time once the end was applied (>= ended_at): the campaign counts
    # the visit only if this, too, is not past the coverage due time, so that a late-arriving
    # end cannot change a judgement depending on how the partitions interleave.
    ended_stream_time: datetime | None = None
    sites: dict[str, tuple[str, ...]] = field(default_factory=dict)
    feedback_at: datetime | None = None
    report_due: datetime | None = None
    report_id: str | None = None
    report_at: datetime | None = None
    breaches: tuple[str, ...] = ()
    correlation_id: str | None = None

    @property
    def status(self) -> str:
        if self.report_at is not None:
            return "reported"
        if self.feedback_at is not None:
            return "feedback_delivered"
        if self.ended_at is not None:
            return "ended"
        if self.started_at is not None:
            return "on_site"
        return "scheduled" if self.scheduled else "unscheduled"

    def visited(self, kind: str) -> int:
        return len(self.sites.get(kind, ()))


@dataclass(frozen=True)
class UnitState:
    unit_id: str
    visits: dict[str, Visit] = field(default_factory=dict)
    # Events that named something this unit does not know (kept, counted, never a crash).
    anomalies: tuple[str, ...] = ()


def days_on_site(visit: Visit, tz: tzinfo) -> int | None:
    if visit.started_at is None or visit.ended_at is None:
        return None
    return calendar_days(visit.started_at, visit.ended_at, tz)


def share_of(visited: int, total: int) -> Fraction:
    return Fraction(visited, total) if total else Fraction(1)


def _percent(value: Fraction) -> str:
    return f"{float(value * 100):.4g} %"


def team_problems(visit: Visit, policy: Policy) -> list[str]:
    team = visit.team
    problems = []
    if not policy.team_min <= len(team) <= policy.team_max:
        problems.append(f"team of {len(team)}, {policy.team_min} to {policy.team_max} expected")
    leaders = [m for m in team if m.role == "leader"]
    deputies = [m for m in team if m.role == "deputy_leader"]
    for role, found, wanted in (("leader", leaders, policy.team_leaders),
                                ("deputy_leader", deputies, policy.team_deputies)):
        if len(found) != wanted:
            problems.append(f"{len(found)} {role} members, exactly {wanted} expected")
    experts = sum(1 for m in team if m.role == "expert")
    if experts < policy.team_experts:
        problems.append(f"{experts} expert members, at least {policy.team_experts} expected")
    if policy.team_organizations:
        outside = [m.person_id for m in team if m.organization not in policy.team_organizations]
        if outside:
            problems.append("not from the committee's member units: " + ", ".join(outside))
    untrained = [m.person_id for m in team if not m.trained]
    if untrained and policy.team_trained:
        problems.append(f"not trained: {', '.join(untrained)}")
    for leader in leaders:
        if leader.rank is not None and leader.rank != "division":
            problems.append(f"leader {leader.person_id} is of {leader.rank} rank, division "
                            "(处级) expected")
        if leader.recently_retired is False:
            problems.append(f"leader {leader.person_id} is not recently retired from a leading "
                            "post")
    return problems


def coverage_shortfalls(visit: Visit, policy: Policy) -> list[tuple[str, str]]:
    """(breach kind, detail) for each coverage rule the visit falls short of."""
    reach = policy.reach(visit.unit_kind or "county")
    out = []
    for kind, site_kind, share, total in (
        ("township_coverage_short", "township", reach.township_share, visit.townships_total),
        ("department_coverage_short", "department", reach.department_share,
         visit.departments_total),
    ):
        if share is None:
            continue
        got = share_of(visit.visited(site_kind), total)
        if got < share:
            out.append((kind, f"{visit.visited(site_kind)} of {total} {site_kind}s "
                              f"({_percent(got)}), at least {_percent(share)}"))
    for kind, site_kind, minimum in (
        ("community_coverage_short", "community", reach.min_communities),
        ("enterprise_coverage_short", "enterprise", reach.min_enterprises),
    ):
        if minimum is not None and visit.visited(site_kind) < minimum:
            out.append((kind, f"{visit.visited(site_kind)} {site_kind}s, at least {minimum}"))
    order = ["township_coverage_short", "community_coverage_short",
             "department_coverage_short", "enterprise_coverage_short"]
    return sorted(out, key=lambda pair: order.index(pair[0]))


class SchedulerCore(UnitCore[UnitState]):
    """The unit core the deadline loop drives. Each handler of its table ``ON`` (after the
    handlers) gets the event's visit too: ``handle`` finds it, and notes what is irregular
    about it, first."""

    State = UnitState
    # Read by the flow's campaign side.
    REMEMBERED = frozenset({CAMPAIGN_PLANNED, STATUS_REPORT_SUBMITTED})

    # -- events ------------------------------------------------------------------------
    def handle(self, state: UnitState, event, now: datetime) -> Decision[UnitState]:
        data = event.data
        if data.visit_id not in state.visits and len(state.visits) >= capacity.VISITS:
            return Decision(self._note(state, event, f"visit {data.visit_id} not kept: the "
                                                     f"unit has {capacity.VISITS} visits"))
        visit = state.visits.get(data.visit_id) or Visit(visit_id=data.visit_id)
        if not visit.scheduled and event.type != VISIT_SCHEDULED:
            state = self._note(state, event, f"{event.type} for visit {data.visit_id}, "
                                             "which was never scheduled")
        if visit.correlation_id is None and event.correlationid is not None:
            visit = evolve(visit, correlation_id=event.correlationid)
        return self.ON[event.type](self, state, visit, event, now)

    def _visit_scheduled(self, state, visit, event, now):
        d = event.data
        team = tuple(Member(m.person_id, m.role, m.trained, m.rank, m.recently_retired,
                            m.organization) for m in d.team.members)
        visit = evolve(
            visit, scheduled=True, campaign_id=d.campaign_id, unit_kind=d.unit_kind,
            unit_name=d.unit_name, batch=d.batch, phase=d.phase, planned_start=d.planned_start,
            planned_end=d.planned_end, townships_total=d.townships_total,
            departments_total=d.departments_total, team=team,
        )
        return Decision(self._put(state, visit))

    def _visit_started(self, state, visit, event, now):
        if visit.started_at is not None:
            return Decision(self._note(state, event, f"visit {visit.visit_id} started again"))
        visit = evolve(visit, started_at=event.time)
        breaches = []
        problems = team_problems(visit, self.policy) if visit.scheduled else []
        if problems:
            breaches.append(self._breach(visit, "team_composition_invalid", state.unit_id,
                                         event, "; ".join(problems)))
        return self._emit(state, visit, breaches)

    def _site_inspected(self, state, visit, event, now):
        d = event.data
        current = visit.sites.get(d.site_kind, ())
        if d.site_id in current:
            return Decision(state if visit.visit_id in state.visits else self._put(state, visit))
        if len(current) >= capacity.SITES:
            return Decision(self._note(self._put(state, visit), event, (
                f"site {d.site_id} not kept: visit {visit.visit_id} has {capacity.SITES} "
                f"{d.site_kind} sites")))
        sites = {**visit.sites, d.site_kind: tuple(sorted((*current, d.site_id)))}
        return Decision(self._put(state, evolve(visit, sites=sites)))

    def _visit_ended(self, state, visit, event, now):
        if visit.ended_at is not None:
            return Decision(self._note(state, event, f"visit {visit.visit_id} ended again"))
        visit = evolve(visit, ended_at=event.time, ended_stream_time=now)
        if not visit.scheduled:
            return Decision(self._put(state, visit))
        breaches = []
        days = days_on_site(visit, self.policy.timezone)
        minimum = self.policy.reach(visit.unit_kind).min_days
        if days is None:
            state = self._note(state, event, f"visit {visit.visit_id} ended without a start; "
                                             "days on site not judged")
        elif days < minimum:
            breaches.append(self._breach(visit, "visit_too_short", state.unit_id, event,
                                         f"{days} days on site, at least {minimum}"))
        for kind, detail in coverage_shortfalls(visit, self.policy):
            breaches.append(self._breach(visit, kind, state.unit_id, event, detail))
        return self._emit(state, visit, breaches)

    def _feedback_delivered(self, state, visit, event, now):
        if visit.feedback_at is not None:
            return Decision(self._note(state, event, f"feedback for {visit.visit_id} again"))
        due = add_months(event.time, self.policy.report_months, self.policy.timezone)
        visit = evolve(visit, feedback_at=event.time, report_due=due)
        opened = ()
        if visit.report_at is None:
            opened = (Deadline(due, self._report_deadline(visit), state.unit_id),)
        return Decision(self._put(state, visit), open=opened)

    def _rectification_report_submitted(self, state, visit, event, now):
        if visit.report_at is not None:
            return Decision(self._note(state, event, f"another report for {visit.visit_id}"))
        visit = evolve(visit, report_id=event.data.report_id, report_at=event.time)
        return Decision(self._put(state, visit), close=(self._report_deadline(visit),))

    ON = {
        VISIT_SCHEDULED: _visit_scheduled,
        VISIT_STARTED: _visit_started,
        SITE_INSPECTED: _site_inspected,
        VISIT_ENDED: _visit_ended,
        FEEDBACK_DELIVERED: _feedback_delivered,
        REPORT_SUBMITTED: _rectification_report_submitted,
    }

    # -- deadlines ---------------------------------------------------------------------
    def expire(self, state: UnitState, deadline: Deadline, now: datetime, cause):
        visit_id = ids.subject_of_rule_deadline(deadline.deadline_id)
        visit = state.visits[visit_id]
        if visit.report_at is not None:
            return Decision(state)
        breach = Breach(
            deadline_id=deadline.deadline_id, kind=REPORT_OVERDUE,
            unit_id=state.unit_id, subject_id=visit_id, due=deadline.due, breached_at=now,
            cause_id=cause.id, correlation_id=visit.correlation_id,
            detail=f"no rectification report by {deadline.due.isoformat()}",
        )
        return self._emit(state, visit, [breach])

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _report_deadline(visit: Visit) -> str:
        return report_deadline_id(visit)

    @staticmethod
    def _put(state: UnitState, visit: Visit) -> UnitState:
        return evolve(state, visits={**state.visits, visit.visit_id: visit})

    @staticmethod
    def _note(state: UnitState, event, text: str) -> UnitState:
        return evolve(state, anomalies=capacity.noted(state.anomalies, f"{event.id}: {text}"))

    def _breach(self, visit: Visit, kind: str, unit_id: str, event, detail: str) -> Breach:
        return Breach(
            deadline_id=ids.rule_deadline(visit.visit_id, kind), kind=kind, unit_id=unit_id,
            subject_id=visit.visit_id, due=event.time, breached_at=event.time,
            cause_id=event.id, correlation_id=event.correlationid or visit.correlation_id,
            detail=detail,
        )

    def _emit(self, state: UnitState, visit: Visit, breaches: list[Breach]):
        if breaches:
            visit = evolve(visit, breaches=(*visit.breaches, *(b.kind for b in breaches)))
        return Decision(self._put(state, visit), derived=tuple(breaches))


def report_deadline_id(visit: Visit) -> str:
    return ids.rule_deadline(visit.visit_id, REPORT_DEADLINE)


def open_deadlines(state: UnitState) -> Iterator[Deadline]:
    """The deadlines a unit has open: each visit's report, from its feedback until the report
    comes or its deadline is breached (what a worker's timeline is rebuilt from)."""
    for visit in state.visits.values():
        if visit.report_due is not None and visit.report_at is None \
                and REPORT_OVERDUE not in visit.breaches:
            yield Deadline(visit.report_due, report_deadline_id(visit), state.unit_id)


def visit_state(unit_id: str, visit: Visit) -> tuple[str, str]:
    """A visit's entry in the ``visits`` index (what ``inspections_visits`` counts): its
    state, under its unit and id."""
    return f"{unit_id}/{visit.visit_id}", visit.status

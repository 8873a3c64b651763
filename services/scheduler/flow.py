"""What the scheduler does with each record it reads, given its stores (no faust, no Kafka):
the faust worker passes its tables, the in-memory runner dicts.

- ``on_event``: an inbound event on its partition, through the deadline loop and the unit
  core. It emits breaches and, to the campaign side, what crosses partitions: a campaign's
  plan, a unit's visit ends when they change, and the partition's stream time whenever it
  passes a midnight. (The visits by state, for the gauge, are derived from the visits: the
  ``visits`` index.)
- ``on_crossing``: one of those on the campaign side (one partition), through the campaign
  core: campaign coverage, judged once every partition has passed the due time; and the
  reports to the city government (``status_report.py``): a unit's visits owing one (sent when
  they change) and each status report, judged the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel import capacity
from kernel.dates import crossed_midnight
from kernel.deadlines import Irregular, process_on_partition
from kernel.policy_log import PolicyCores
from kernel.vocabulary import (
    CAMPAIGN_PLANNED,
    POLICY_ADOPTED,
    REPORT_OVERDUE,
    STATUS_REPORT_SUBMITTED,
)
from services.scheduler.campaign import (
    Campaign,
    CampaignCore,
    Completion,
    Mark,
    Plan,
    PlannedUnit,
    Watermarks,
)
from services.scheduler.rules import Policy, SchedulerCore, UnitState
from services.scheduler.status_report import Sent, StatusCore, StatusReports, since_of

WATERMARKS = "watermarks"
CAMPAIGN = "campaign:"  # and the campaign's id
OPEN = "open-campaigns"  # ids of the campaigns not yet judged, for the watermarks to visit
STATUS = "status:"  # and the campaign's id: its reports to the city government
STATUS_OPEN = "open-status"  # ids of the campaigns with a status report owed and not judged
STATUS_KEPT = "status-campaigns"  # ids of the campaigns whose status reports are kept


@dataclass(frozen=True)
class PlanForward:
    plan: Plan


@dataclass(frozen=True)
class Completions:
    """A unit's ended visits, as its partition applied them (sent when they change)."""

    unit_id: str
    completions: tuple[Completion, ...]


@dataclass(frozen=True)
class WatermarkForward:
    partition: int
    mark: Mark


@dataclass(frozen=True)
class ReportsOwed:
    """A unit's visits owing a status report, each (campaign, visit, since, correlation id):
    sent when they change."""

    unit_id: str
    owed: tuple[tuple[str, str, datetime, str | None], ...]


@dataclass(frozen=True)
class StatusSent:
    campaign_id: str
    sent: Sent


Crossing = PlanForward | Completions | WatermarkForward | ReportsOwed | StatusSent


def plan_of(event) -> Plan:
    d = event.data
    return Plan(
        campaign_id=d.campaign_id, year=d.year, title=d.title, coverage_due=d.coverage_due,
        units=tuple(PlannedUnit(u.unit_id, u.name, u.kind) for u in d.units),
        event_id=event.id, correlation_id=event.correlationid,
    )


def completions_of(state: UnitState | None) -> tuple[Completion, ...]:
    if state is None:
        return ()
    return tuple(
        Completion(v.campaign_id, state.unit_id, v.visit_id, v.ended_at, v.ended_stream_time)
        for v in state.visits.values()
        if v.campaign_id is not None and v.ended_at is not None
    )


def reports_owed(state: UnitState | None) -> tuple:
    """What of a unit the reports to the city government read: each visit of a campaign whose
    rectification report fell due or arrived."""
    if state is None:
        return ()
    return tuple((v.campaign_id, v.visit_id,
                  since_of(v.report_at, v.report_due, REPORT_OVERDUE in v.breaches),
                  v.correlation_id)
                 for v in state.visits.values()
                 if v.campaign_id is not None and v.report_due is not None)


def _reported(visit) -> tuple:
    """What of a visit the reports to the city government read."""
    return visit.report_due, visit.report_at, visit.breaches


def _ends(visit) -> tuple:
    """What of a visit its unit's completions read."""
    return visit.campaign_id, visit.ended_at, visit.ended_stream_time


def changed_visits(old: UnitState | None, new: UnitState) -> list:
    """(visit before or None, visit after) for each visit the change touched."""
    before = old.visits if old is not None else {}
    return [(before.get(i), v) for i, v in new.visits.items() if before.get(i) is not v]


class SchedulerFlow:
    def __init__(self, policy: Policy, partitions: int, policies=None) -> None:
        """``policy``: the starting one; ``policies``: the city's policies the log adopts,
        each in force in a partition from its place on (``kernel.policy_log``): the team
        rule. The campaign side's settings (time zone, status reports) are the starting
        policy's."""
        self.policy = policy
        self.cores = PolicyCores(policy, policies, SchedulerCore)
        self.campaign = CampaignCore(policy.timezone, partitions)
        self.status = StatusCore(policy.timezone, partitions, policy.status_report_months)
        self.irregular = Irregular()

    # -- a partition ---------------------------------------------------------------------
    def on_event(self, ctx, event: Any) -> None:
        if event.type == POLICY_ADOPTED:
            self.cores.adopt(ctx, event)
            return
        units, timelines = ctx.store("units"), ctx.store("timelines")
        outcome, before, tracked = process_on_partition(self.cores.at(ctx), ctx.partition,
                                                        timelines, units, ctx.seen, event,
                                                        ctx.shown)
        self.irregular.of(outcome)
        if outcome.duplicate:
            return
        for breach in outcome.derived:
            ctx.emit(breach)
        if event.type == CAMPAIGN_PLANNED:
            ctx.emit(PlanForward(plan_of(event)))
        elif event.type == STATUS_REPORT_SUBMITTED and self.policy.status_report_months > 0:
            d = event.data
            ctx.emit(StatusSent(d.campaign_id, Sent(
                d.report_id, event.time, tuple(d.unit_ids), event.id,
                timelines[ctx.partition].stream_time)))
        if tracked.written:
            self._written(ctx, units, tracked)
        # After the unit's news, so that the campaign side hears of an end before the
        # watermark that could close the campaign.
        now = timelines[ctx.partition].stream_time
        if crossed_midnight(before, now, self.policy.timezone):
            ctx.emit(WatermarkForward(ctx.partition, Mark(now, event.id)))

    def _written(self, ctx, units, tracked) -> None:
        for unit_id in tracked.written:
            state, old = units[unit_id], tracked.old(unit_id)
            if old is None or state.anomalies is not old.anomalies:
                self.irregular.note(state.anomalies[len(old.anomalies) if old else 0:])
            changes = changed_visits(old, state)
            # A unit's visit ends cross to the campaign side when one of them changes.
            if any(was is None or _ends(was) != _ends(visit) for was, visit in changes):
                completions = completions_of(state)
                if completions != completions_of(old):
                    ctx.emit(Completions(unit_id, completions))
            # And the visits owing a status report, when a report's due time or arrival does.
            if self.policy.status_report_months > 0 and any(
                    was is None or _reported(was) != _reported(visit) for was, visit in changes):
                owed = reports_owed(state)
                if owed != reports_owed(old):
                    ctx.emit(ReportsOwed(unit_id, owed))

    # -- the campaign side ---------------------------------------------------------------
    def on_crossing(self, ctx, crossing: Crossing) -> None:
        """``campaigns`` holds the watermarks, each campaign (``campaign:<id>``) and the ids
        of those not yet judged."""
        store = ctx.store("campaigns")
        marks: Watermarks = store.get(WATERMARKS) or Watermarks()
        if isinstance(crossing, PlanForward):
            campaign = self._campaign(store, crossing.plan.campaign_id)
            if campaign.plan is None and len(store.get(OPEN) or ()) >= capacity.OPEN_CAMPAIGNS:
                self.irregular.note([f"{crossing.plan.event_id}: campaign "
                                     f"{campaign.campaign_id} not kept: "
                                     f"{capacity.OPEN_CAMPAIGNS} campaigns are open"])
                return
            campaign, breaches = self.campaign.planned(campaign, crossing.plan, marks)
            self._put(store, campaign)
        elif isinstance(crossing, Completions):
            breaches = []
            for campaign_id in sorted({c.campaign_id for c in crossing.completions}):
                campaign = self._campaign(store, campaign_id)
                updated = self.campaign.visits_ended(campaign, crossing.unit_id,
                                                     crossing.completions)
                if updated is not campaign:
                    self._put(store, updated)
        elif isinstance(crossing, ReportsOwed):
            breaches = []
            for campaign_id in sorted({c for c, *_ in crossing.owed}):
                mine = tuple((v, since, corr) for c, v, since, corr in crossing.owed
                             if c == campaign_id)
                before = self._status(store, campaign_id, crossing.unit_id)
                if before is not None:
                    reports, found = self.status.owed(before, crossing.unit_id, mine, marks)
                    self._put_status(store, before, reports)
                    breaches += found
        elif isinstance(crossing, StatusSent):
            before = self._status(store, crossing.campaign_id, crossing.sent.event_id)
            breaches = []
            if before is not None:
                reports, breaches = self.status.sent(before, crossing.sent, marks)
                self._put_status(store, before, reports)
        else:
            breaches = []
            updated = marks.add(crossing.partition, crossing.mark)
            if updated is not marks:
                store[WATERMARKS] = updated
                for campaign_id in store.get(OPEN) or ():
                    before = self._campaign(store, campaign_id)
                    campaign, found = self.campaign.watermark(before, crossing.partition,
                                                              crossing.mark)
                    if campaign is not before:
                        self._put(store, campaign)
                    breaches += found
                for campaign_id in store.get(STATUS_OPEN) or ():
                    before = store[f"{STATUS}{campaign_id}"]
                    reports, found = self.status.judge(before, updated)
                    self._put_status(store, before, reports)
                    breaches += found
        for breach in breaches:
            ctx.emit(breach)

    def _status(self, store, campaign_id: str, said_by: str) -> StatusReports | None:
        """The campaign's reports to the city government; a new one while fewer than
        ``STATUS_CAMPAIGNS`` are kept (past that, None, and noted: a flood of campaigns)."""
        found = store.get(f"{STATUS}{campaign_id}")
        if found is not None:
            return found
        kept = tuple(store.get(STATUS_KEPT) or ())
        if len(kept) >= capacity.STATUS_CAMPAIGNS:
            self.irregular.note([f"{said_by}: the status reports of campaign {campaign_id} "
                                 f"are not kept: {capacity.STATUS_CAMPAIGNS} campaigns' are"])
            return None
        store[STATUS_KEPT] = tuple(sorted((*kept, campaign_id)))
        return StatusReports(campaign_id)

    @staticmethod
    def _put_status(store, before: StatusReports, reports: StatusReports) -> None:
        if reports is before:
            return
        store[f"{STATUS}{reports.campaign_id}"] = reports
        open_ids = tuple(store.get(STATUS_OPEN) or ())
        if reports.open and reports.campaign_id not in open_ids:
            store[STATUS_OPEN] = (*open_ids, reports.campaign_id)
        elif not reports.open and reports.campaign_id in open_ids:
            rest = tuple(i for i in open_ids if i != reports.campaign_id)
            if rest:
                store[STATUS_OPEN] = rest
            else:  # as if never opened: the same state whichever way it was judged
                del store[STATUS_OPEN]

    @staticmethod
    def _campaign(store, campaign_id: str) -> Campaign:
        return store.get(f"{CAMPAIGN}{campaign_id}") or Campaign(campaign_id)

    @staticmethod
    def _put(store, campaign: Campaign) -> None:
        store[f"{CAMPAIGN}{campaign.campaign_id}"] = campaign
        open_ids = tuple(store.get(OPEN) or ())
        want = campaign.plan is not None and campaign.judged_at is None
        if want and campaign.campaign_id not in open_ids:
            store[OPEN] = (*open_ids, campaign.campaign_id)
        elif not want and campaign.campaign_id in open_ids:
            store[OPEN] = tuple(i for i in open_ids if i != campaign.campaign_id)

"""What operators read, from the scheduler's state: a unit's visits (status, dates, days on
site and coverage against each threshold, the rules each broke) and a campaign (its plan,
coverage and judgement, each planned unit's row); and the read model that answers the
service's declared views (``SchedulerViews``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo

from kernel.dates import end_of_day
from kernel.due import Due, due_checked, due_here
from kernel.paging import paged_in_order, with_next
from services.scheduler.campaign import Campaign, counted, coverage_due_at
from services.scheduler.status_report import StatusReports
from services.scheduler.rules import (
    Policy,
    UnitState,
    Visit,
    days_on_site,
    share_of,
)


def _iso(t: datetime | date | None) -> str | None:
    return None if t is None else t.isoformat()


def visit_view(visit: Visit, policy: Policy) -> dict:
    """A visit as operators read it: status, dates, days on site and coverage against each
    threshold, and the rules it broke."""
    reach = policy.reach(visit.unit_kind or "county")
    days = days_on_site(visit, policy.timezone)
    coverage = {}
    for site_kind, share, total in (("township", reach.township_share, visit.townships_total),
                                    ("department", reach.department_share,
                                     visit.departments_total)):
        if share is not None:
            got = share_of(visit.visited(site_kind), total)
            coverage[site_kind] = {"visited": visit.visited(site_kind), "total": total,
                                   "share": float(got), "required_share": float(share),
                                   "met": got >= share}
    for site_kind, minimum in (("community", reach.min_communities),
                               ("enterprise", reach.min_enterprises)):
        if minimum is not None:
            coverage[site_kind] = {"visited": visit.visited(site_kind), "required": minimum,
                                   "met": visit.visited(site_kind) >= minimum}
    return {
        "visit_id": visit.visit_id,
        "campaign_id": visit.campaign_id,
        "unit_kind": visit.unit_kind,
        "unit_name": visit.unit_name,
        "batch": visit.batch,
        "phase": visit.phase,
        "status": visit.status,
        "planned_start": _iso(visit.planned_start),
        "planned_end": _iso(visit.planned_end),
        "started_at": _iso(visit.started_at),
        "ended_at": _iso(visit.ended_at),
        "days_on_site": days,
        "required_days": reach.min_days,
        "coverage": coverage,
        "team_size": len(visit.team),
        "feedback_at": _iso(visit.feedback_at),
        "report_due": _iso(visit.report_due),
        "report_id": visit.report_id,
        "report_at": _iso(visit.report_at),
        "report_on_time": None if visit.report_at is None or visit.report_due is None
        else visit.report_at <= visit.report_due,
        "breaches": list(visit.breaches),
    }


def unit_view(state: UnitState, policy: Policy) -> dict:
    visits = [visit_view(v, policy) for v in state.visits.values()]
    return {
        "unit_id": state.unit_id,
        "visits": visits,
        "inspected": any(v["ended_at"] is not None for v in visits),
        "breaches": [kind for v in visits for kind in v["breaches"]],
        "anomalies": list(state.anomalies),
    }


def visit_page(unit_view_: dict | None, visit_id: str) -> dict | None:
    """One visit of a unit's view, with its unit."""
    visit = next((v for v in (unit_view_ or {}).get("visits", [])
                  if v["visit_id"] == visit_id), None)
    return visit and {"unit_id": unit_view_["unit_id"], **visit}


NO_VISITS = {"visits": [], "breaches": [], "anomalies": []}


def campaign_summary(campaign: Campaign | None, tz: tzinfo) -> dict | None:
    """A campaign without its unit rows: its plan, coverage, judgement."""
    if campaign is None or campaign.plan is None:
        return None
    plan = campaign.plan
    due = coverage_due_at(plan.coverage_due, tz)
    inspected = sum(1 for unit in plan.units if _inspected(campaign, unit.unit_id, due))
    planned = len(plan.units)
    return {
        "campaign_id": plan.campaign_id, "title": plan.title, "year": plan.year,
        "coverage_due": plan.coverage_due.isoformat(), "due_at": due.isoformat(),
        "units_planned": planned, "units_inspected": inspected,
        "coverage": inspected / planned if planned else 1.0,
        "judged_at": None if campaign.judged_at is None else campaign.judged_at.isoformat(),
        "units_missing": list(campaign.missing),
        "partitions_past_due": sorted(campaign.passed),
    }


def _inspected(campaign: Campaign, unit_id: str, due) -> bool:
    return any(counted(c, due) for c in campaign.completions.get(unit_id, ()))


def campaign_view(campaign: Campaign | None, unit_views: Mapping[str, dict],
                  tz: tzinfo) -> dict | None:
    """A campaign: its summary, and each planned unit with its visits of this campaign and
    its breaches (``unit_views``: the planned units' views, where there are any)."""
    summary = campaign_summary(campaign, tz)
    if summary is None:
        return None
    plan = campaign.plan
    due = coverage_due_at(plan.coverage_due, tz)
    rows = []
    for unit in plan.units:
        view = unit_views.get(unit.unit_id) or NO_VISITS
        rows.append({
            "unit_id": unit.unit_id, "name": unit.name, "kind": unit.kind,
            "inspected_in_time": _inspected(campaign, unit.unit_id, due),
            "visits": [v for v in view["visits"] if v["campaign_id"] == plan.campaign_id],
            "breaches": view["breaches"]
            + (["campaign_coverage_incomplete"] if unit.unit_id in campaign.missing else []),
        })
    return {**summary, "units": rows}


def due_of_unit(state: UnitState, policy: Policy) -> list[Due]:
    """A unit's open obligations: each visit on site, until the first moment it may end with
    its days (the midnight that starts its last required date); each rectification report
    after feedback, until it is submitted."""
    found = []
    for visit in state.visits.values():
        if visit.started_at is not None and visit.ended_at is None:
            days = policy.reach(visit.unit_kind or "county").min_days
            first_day = visit.started_at.astimezone(policy.timezone).date()
            earliest_end = end_of_day(first_day + timedelta(days=days - 1), policy.timezone)
            found.append(Due("days_on_site", visit.visit_id, state.unit_id, earliest_end, None,
                             f"at least {days} days on site"))
        if visit.report_due is not None and visit.report_at is None:
            found.append(Due("rectification_report", visit.visit_id, state.unit_id,
                             visit.report_due, "unit_government",
                             "rectification report to the city safety office"))
    return found


def due_of_campaign(campaign: Campaign | None, tz: tzinfo) -> list[Due]:
    """Each planned unit of a campaign not yet judged whose visit has not ended in time."""
    if campaign is None or campaign.plan is None or campaign.judged_at is not None:
        return []
    due = coverage_due_at(campaign.plan.coverage_due, tz)
    return [Due("campaign_coverage", campaign.plan.campaign_id, unit.unit_id, due, None,
                f"visit ended for {campaign.plan.title}")
            for unit in campaign.plan.units if not _inspected(campaign, unit.unit_id, due)]


def status_view(reports: StatusReports) -> dict:
    """A campaign's reports to the city government (报告市政府): each unit's visit owing one,
    from when to when, and which status report covered it or when it was missed; and every
    status report sent."""
    return {
        "campaign_id": reports.campaign_id,
        "owed": [{"unit_id": o.unit_id, "visit_id": o.visit_id, "since": o.since.isoformat(),
                  "due": o.due.isoformat(), "covered_by": o.covered_by,
                  "breached_at": None if o.breached_at is None else o.breached_at.isoformat()}
                 for o in sorted(reports.owed.values(), key=lambda o: (o.due, o.unit_id))],
        "sent": [{"report_id": x.report_id, "time": x.time.isoformat(),
                  "unit_ids": list(x.unit_ids), "event_id": x.event_id}
                 for x in reports.sent],
    }


def due_of_status(reports: StatusReports) -> list[Due]:
    """Each unit's visit still owing a status report to the city government."""
    return [Due("status_report", o.visit_id, o.unit_id, o.due, None,
                f"status report to the city government naming {o.unit_id}, "
                f"campaign {reports.campaign_id}")
            for o in reports.owed.values() if o.covered_by is None and o.breached_at is None]


class SchedulerViews:
    """The scheduler's read model: what each of its declared views answers
    (``services.scheduler.app``), over a part of its state (a ``Shelf``)."""

    def __init__(self, policy: Policy, campaign_prefix: str, status_prefix: str) -> None:
        self.policy, self.tz, self.prefix = policy, policy.timezone, campaign_prefix
        self.status_prefix = status_prefix

    # /units/{unit_id}
    def unit_here(self, shelf, asked) -> list[dict]:
        state = shelf.unit("units", asked.params["unit_id"])
        return [] if state is None else [unit_view(state, self.policy)]

    def every_unit(self, shelf):
        for state in shelf.units("units"):
            yield state.unit_id, unit_view(state, self.policy)

    # /visits/{visit_id}
    def visit_here(self, shelf, asked) -> list[dict]:
        visit_id = asked.params["visit_id"]
        state = shelf.holder("units", "visits", visit_id)
        found = visit_page(unit_view(state, self.policy), visit_id) if state else None
        return [found] if found else []

    def _campaigns(self, shelf):
        campaigns = shelf.side("campaigns") or {}
        return ((key.removeprefix(self.prefix), campaigns[key]) for key in sorted(campaigns)
                if key.startswith(self.prefix))

    # /campaigns
    def summaries_here(self, shelf, asked) -> list[dict]:
        return [s for _, c in self._campaigns(shelf)
                if (s := campaign_summary(c, self.tz)) is not None]

    def summaries(self, found: list[dict], asked) -> dict:
        return {"campaigns": found}

    # /campaigns/{campaign_id}: a page of its unit rows in the plan's order (``cursor``: the
    # last unit id of the page before); only that page's units are asked of their owners
    def campaign_here(self, shelf, asked) -> list[tuple]:
        campaigns = shelf.side("campaigns") or {}
        campaign = campaigns.get(f"{self.prefix}{asked.params['campaign_id']}")
        if campaign is None or campaign.plan is None:
            return []
        shown, after = paged_in_order([u.unit_id for u in campaign.plan.units], str,
                                      asked.query.get("limit"), asked.query.get("cursor"))
        return [((campaign, after), shown)]

    def campaign(self, found: list[tuple], asked) -> dict | None:
        if not found:
            return None
        (campaign, after), shown = found[0]
        view = campaign_view(campaign, asked.rows, self.tz)
        kept = set(shown)
        return with_next({**view, "units": [u for u in view["units"] if u["unit_id"] in kept]},
                         after)

    def every_campaign(self, shelf):
        for campaign_id, campaign in self._campaigns(shelf):
            if campaign.plan is not None:
                yield campaign_id, (campaign, [u.unit_id for u in campaign.plan.units])

    def whole_campaign(self, campaign_id: str, items: list[tuple], rows) -> dict | None:
        return campaign_view(items[0][0], rows, self.tz)

    # /due: visits on site, reports due, and (the side's holder) campaigns' coverage
    def due_here(self, shelf, asked) -> list[dict]:
        due_checked(asked.query)
        items = [d for state in shelf.units("units") for d in due_of_unit(state, self.policy)]
        items += [d for _, c in self._campaigns(shelf) for d in due_of_campaign(c, self.tz)]
        items += [d for r in self._status(shelf) for d in due_of_status(r)]
        return due_here(shelf, items)

    def _status(self, shelf):
        campaigns = shelf.side("campaigns") or {}
        return (campaigns[key] for key in sorted(campaigns) if key.startswith(self.status_prefix))

    # /campaigns/{campaign_id}/status-reports
    def status_here(self, shelf, asked) -> list[dict]:
        campaigns = shelf.side("campaigns") or {}
        found = campaigns.get(f"{self.status_prefix}{asked.params['campaign_id']}")
        return [] if found is None else [status_view(found)]

    def every_status(self, shelf):
        for reports in self._status(shelf):
            yield reports.campaign_id, status_view(reports)


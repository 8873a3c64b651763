"""What operators read of a unit's visits, from its state: each visit's status, dates, days on
site and coverage against each threshold, and the rules it broke."""

from __future__ import annotations

from datetime import date, datetime

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

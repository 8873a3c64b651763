"""The seed's batch 1 (两个阶段, eight units) as contract events, with one broken rule of
each kind the scheduler judges (and the city office's status reports to the city government,
one of them late). Plain dicts, as an upstream system would send them."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from tests.examples import event

CAMPAIGN = "zhangzhou-2026"

# unit id, name, kind, phase, the rule its visit breaks (None: none)
BATCH_1 = [
    ("pinghe", "平和县", "county", 1, "team_composition_invalid"),
    ("nanjing", "南靖县", "county", 1, "visit_too_short"),
    ("changtai", "长泰县", "county", 1, "township_coverage_short"),
    ("taishang", "台商投资区", "zone", 1, "community_coverage_short"),
    ("longwen", "龙文区", "county", 2, "department_coverage_short"),
    ("huaan", "华安县", "county", 2, "enterprise_coverage_short"),
    ("gaoxin", "漳州高新区", "zone", 2, "rectification_report_overdue"),
    ("gulei", "古雷开发区", "zone", 2, "campaign_coverage_incomplete"),
]
# The unit whose status report to the city government comes late (报告市政府: within a month).
STATUS_LATE = "longwen"
PHASE_START = {1: datetime.fromisoformat("2026-04-18T09:00:00+08:00"),
               2: datetime.fromisoformat("2026-05-08T09:00:00+08:00")}


def _member(i: int, role: str) -> dict:
    m = {"person_id": f"p{i}", "name": f"组员{i}", "role": role,
         "organization": "市政府安委会成员单位", "trained": True}
    if role == "leader":
        m.update(rank="division", recently_retired=True)
    return m


def _team(team_id: str, size: int) -> dict:
    roles = ["leader", "deputy_leader", "expert"] + ["member"] * (size - 3)
    return {"team_id": team_id, "members": [_member(i, r) for i, r in enumerate(roles[:size])]}


def _ev(kind: str, time: datetime, unit: str, n: int, **data) -> dict:
    body = event(kind, id=f"{unit}-{n:03d}", time=time.isoformat(), subject=unit,
                 correlationid=f"visit-2026-{unit}")
    body["data"] = {**copy.deepcopy(data)}
    return body


def batch_1(coverage_due: str = "2026-12-31") -> tuple[list[dict], set[tuple[str, str]]]:
    """(events in time order, expected (unit_id, breach kind) pairs)."""
    events = [event("campaign.planned", id="plan-2026", time="2026-04-01T09:00:00+08:00",
                    subject=CAMPAIGN, correlationid=CAMPAIGN)]
    events[0]["data"].update(coverage_due=coverage_due, units=[
        {"unit_id": u, "name": name, "kind": kind} for u, name, kind, _, _ in BATCH_1])
    expected = set()
    for index, (unit, name, kind, phase, broken) in enumerate(BATCH_1):
        expected.add((unit, broken))
        visit = f"visit-2026-{unit}"
        n = iter(range(1000))
        start = PHASE_START[phase]
        days = 10 if kind == "county" else 6
        end = start + timedelta(days=days - (1 if broken == "visit_too_short" else 0), hours=8)
        townships, departments = (10, 20) if kind == "county" else (0, 10)
        unit_events = [_ev(
            "visit.scheduled", start - timedelta(days=8), unit, next(n), campaign_id=CAMPAIGN,
            visit_id=visit, unit_id=unit, unit_name=name, unit_kind=kind, batch=1, phase=phase,
            planned_start=start.date().isoformat(),
            planned_end=(start + timedelta(days=days)).date().isoformat(),
            townships_total=townships, departments_total=departments,
            team=_team(f"T{index % 4 + 1}", 5 if broken == "team_composition_invalid" else 8),
        ), _ev("visit.started", start, unit, next(n), visit_id=visit, unit_id=unit)]
        if kind == "county":
            want = {"township": 5 if broken == "township_coverage_short" else 6,
                    "department": 9 if broken == "department_coverage_short" else 10,
                    "enterprise": 9 if broken == "enterprise_coverage_short" else 10}
        else:
            want = {"community": 3 if broken == "community_coverage_short" else 4,
                    "department": 6, "enterprise": 8}
        for site_kind, count in want.items():
            for i in range(count):
                unit_events.append(_ev(
                    "site.inspected", start + timedelta(days=1 + i % 5, hours=i), unit,
                    next(n), visit_id=visit, unit_id=unit, site_kind=site_kind,
                    site_id=f"{unit}-{site_kind}-{i}", site_name=f"{site_kind} {i}",
                    method="unannounced_visit" if i % 3 == 0 else "open_visit"))
        if broken != "campaign_coverage_incomplete":
            feedback = end + timedelta(days=2)
            report = feedback + timedelta(days=30)
            if broken == "rectification_report_overdue":
                report = feedback.replace(month=feedback.month + 2) + timedelta(seconds=1)
            unit_events += [
                _ev("visit.ended", end, unit, next(n), visit_id=visit, unit_id=unit),
                _ev("feedback.delivered", feedback, unit, next(n), visit_id=visit,
                    unit_id=unit),
                _ev("rectification.report.submitted", report, unit, next(n), visit_id=visit,
                    unit_id=unit, report_id=f"R-{unit}", rectified_finding_ids=[],
                    pending_finding_ids=[]),
            ]
            # The city office names the unit to the city government 10 days on (one, 40).
            named = report + timedelta(days=40 if unit == STATUS_LATE else 10)
            status = event("status.report.submitted", id=f"status-{unit}",
                           time=named.isoformat(), subject=CAMPAIGN, correlationid=CAMPAIGN)
            status["data"] = {"report_id": f"SR-{unit}", "campaign_id": CAMPAIGN,
                              "unit_ids": [unit], "as_of": named.isoformat()}
            unit_events.append(status)
            if unit == STATUS_LATE:
                expected.add((unit, "status_report_overdue"))
        events += unit_events
    events.sort(key=lambda e: (datetime.fromisoformat(e["time"]), e["id"]))
    return events, expected


def year_end_ticks() -> list[dict]:
    """Ticks that carry every partition past the end of 31 December."""
    return [event("clock.ticked", id="tick-2027-01-01", time="2027-01-01T00:00:01+08:00")]

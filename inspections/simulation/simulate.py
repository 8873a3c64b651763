"""Scenarios: a campaign's plan and what happens in it, as a data file, turned into the events
the upstream systems would publish, and published through the public contract at a speed.

A scenario (YAML or JSON, see ``inspections/simulation/data/scenarios/zhangzhou-2026.yaml``) names
the units, the teams, each visit (dates, sites reached, findings by category, when feedback and the
rectification report come) and the findings that go differently from the usual prompt answer (late,
never, resolved, acknowledged too early). ``expand`` turns it into events: the same file and seed
give the same events with the same ids, so simulating twice publishes duplicates the services
ignore. Which event answers which escalation is read from the escalation service's routing table, so
the simulated authorities answer what the rules ask of them.
"""

from __future__ import annotations

import math
import random
import time as wall
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone

from inspections.simulation.responses import answer, correct
from inspections.simulation.scenario import (  # noqa: F401  (load, find: the simulator's way in)
    Scenario,
    ScenarioError,
    TeamSpec,
    UnitSpec,
    VisitSpec,
    find,
    load,
)
from kernel.codec import dumps
from kernel.dates import add_months
from kernel.ids import derived_id
from kernel.vocabulary import BROADCAST, POLICY_ADOPTED, POLICY_SUBJECT, STATUS_REPORT_SUBMITTED
from runtime.config.settings import Settings
from runtime.plumbing.kafka import partition_for
from schemas.events import SECTORS as SECTOR_CATALOGUE
from schemas.fields import Method, values
from services.escalation import config as escalation_config
from services.escalation.rules import Policy

# -- expansion ------------------------------------------------------------------------------
SURNAMES = "林陈黄张李王吴刘蔡杨郑许谢洪郭邱曾廖赖徐周叶苏庄吕江何"
ORGS = ("市应急管理局", "市住建局", "市交通运输局", "市消防救援支队", "市市场监管局",
        "市自然资源局", "市海洋与渔业局", "市公安局交警支队")
SECTORS = tuple(SECTOR_CATALOGUE)
METHODS = values(Method)
PROBLEMS = {
    "general": ["安全生产责任清单未及时更新", "应急预案演练记录不全", "隐患排查台账填写不规范",
                "安全培训档案缺失部分学时记录"],
    "violation": ["危险化学品仓库未按规定设置防爆设施", "施工现场未设置安全防护栏",
                  "消防通道被占用堵塞", "特种作业人员无证上岗"],
    "major_hazard": ["液氨储罐区安全距离不足", "渔船未配备救生设备即出海作业",
                     "高边坡施工无监测措施"],
    "major_issue": ["多部门监管职责交叉不清", "园区安全规划与实际布局不符"],
    "misconduct_clue": ["执法检查记录疑似补签", "隐患整改验收材料疑似造假"],
    "accountability": ["发生事故后未按规定上报", "重大隐患长期未整改"],
}


def _tz(scenario: Scenario) -> timezone:
    return timezone(timedelta(hours=scenario.utc_offset_h))


def _at(d: date, hour: int, tz) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=tz)


class _Builder:
    def __init__(self, scenario: Scenario, policy: Policy, report_months: int = 2) -> None:
        self.s = scenario
        self.policy = policy  # the escalation policy: who holds an escalation when answered
        self.report_months = report_months  # a rectification report's due, after feedback
        self.tz = _tz(scenario)
        self.rng = random.Random(scenario.seed)
        self.out: list[tuple[datetime, int, dict]] = []
        # Each reported unit: when a status report to the city government is owed from.
        self.owed: list[tuple[datetime, str]] = []

    def emit(self, kind: str, t: datetime, subject: str, key: str, source: str, data: dict,
             correlation: str | None = None) -> str:
        event_id = derived_id("simulated", self.s.name, key)
        event = {
            "specversion": "1.0", "id": event_id, "source": source, "type": kind,
            "time": t.astimezone(self.tz).isoformat(), "subject": subject,
            "datacontenttype": "application/json", "data": data,
        }
        if correlation:
            event["correlationid"] = correlation
        self.out.append((t, len(self.out), event))
        return event_id

    def between(self, a: datetime, b: datetime) -> datetime:
        span = max(0.0, (b - a).total_seconds())
        return a + timedelta(seconds=int(self.rng.uniform(0, span)))


def _team(b: _Builder, spec: TeamSpec, untrained: int | None) -> dict:
    rng = random.Random(f"{b.s.seed}:{spec.id}")  # a team is the same on every visit
    members = []
    for i in range(spec.size):
        role = ("leader" if i == 0 else "deputy_leader" if i <= spec.deputies
                else "expert" if i % 3 == 0 else "member")
        member = {"person_id": f"{spec.id}-p{i + 1}", "name": f"{rng.choice(SURNAMES)}某",
                  "role": role, "organization": rng.choice(ORGS),
                  "trained": i >= (spec.untrained if untrained is None else untrained)}
        if role == "leader":
            member.update(rank="division", recently_retired=True)
        members.append(member)
    return {"team_id": spec.id, "members": members}


def _visit(b: _Builder, v: VisitSpec, unit: UnitSpec, team: TeamSpec) -> None:
    tz, s = b.tz, b.s
    visit_id = f"{s.campaign.id}-b{v.batch}-{unit.id}"
    team_source = f"urn:inspections:team:{team.id}"
    office = "urn:inspections:city-safety-office"
    scheduled_at = _at(v.planned_start, 10, tz) - timedelta(days=10)
    b.emit("visit.scheduled", scheduled_at, unit.id, f"{visit_id}/scheduled", office, {
        "campaign_id": s.campaign.id, "visit_id": visit_id, "unit_id": unit.id,
        "unit_name": unit.name, "unit_kind": unit.kind, "batch": v.batch, "phase": v.phase,
        "planned_start": v.planned_start.isoformat(), "planned_end": v.planned_end.isoformat(),
        "townships_total": unit.townships, "departments_total": unit.departments,
        "team": _team(b, team, v.untrained)}, visit_id)
    start = v.started or _at(v.planned_start, 9, tz)
    end = None if v.ended == "never" else (v.ended or _at(v.planned_end, 17, tz))
    b.emit("visit.started", start, unit.id, f"{visit_id}/started", team_source,
           {"visit_id": visit_id, "unit_id": unit.id}, visit_id)
    on_site_until = end or (start + timedelta(days=(v.planned_end - v.planned_start).days))

    sites = [("township", math.ceil(v.sites.township_share * unit.townships - 1e-9)),
             ("department", math.ceil(v.sites.department_share * unit.departments - 1e-9)),
             ("community", v.sites.communities), ("enterprise", v.sites.enterprises)]
    site_ids = []
    for kind, count in sites:
        for i in range(count):
            site_id = f"{unit.id}-{kind}-{i + 1}"
            site_ids.append(site_id)
            b.emit("site.inspected", b.between(start, on_site_until), unit.id,
                   f"{visit_id}/site/{site_id}", team_source, {
                       "visit_id": visit_id, "unit_id": unit.id, "site_kind": kind,
                       "site_id": site_id, "site_name": f"{unit.name} {kind} {i + 1}",
                       "method": b.rng.choice(METHODS)}, visit_id)

    plain = [(category, None) for category, count in v.findings.items() for _ in range(count)]
    findings = plain + [(f.category, f) for f in v.special]
    recorded_ids, rectified, not_rectified, followed = [], [], [], []
    for n, (category, spec) in enumerate(findings, start=1):
        f_id = f"{unit.id}-{s.campaign.year}-b{v.batch}-{n:03d}"
        at = b.between(start + timedelta(hours=1), on_site_until - timedelta(hours=1))
        text = (spec.description if spec and spec.description
                else b.rng.choice(PROBLEMS[category]))
        data = {
            "finding_id": f_id, "visit_id": visit_id, "unit_id": unit.id, "category": category,
            "sector": b.rng.choice(SECTORS), "aspect": b.rng.randint(1, 9),
            "item": b.rng.randint(1, 60),
            "description": text,
            "evidence": [f"{f_id}-photo.jpg"] if not spec or spec.evidence else [],
            "cannot_ensure_safety": bool(spec and spec.cannot_ensure_safety),
            "listed_supervision_advised": bool(spec and spec.listed_supervision_advised),
        }
        if site_ids:
            data["site_id"] = b.rng.choice(site_ids)
        if not spec or spec.advice:
            data["advice"] = "限期整改，举一反三"
        b.emit("finding.recorded", at, unit.id, f"{f_id}/recorded", team_source, data,
               visit_id)
        answer(b, f_id, unit.id, visit_id, at, category, spec, n)
        if spec:
            correct(b, f_id, unit.id, visit_id, at, category, spec, n, team_source)
        recorded_ids.append(f_id)
        if spec and not spec.rectified:
            if spec.followed_up_after_days:
                followed.append((f_id, spec.followed_up_after_days))
            continue
        (not_rectified if spec and spec.spot_check == "not_rectified" else rectified).append(
            f_id)

    if end is None:
        return
    b.emit("visit.ended", end, unit.id, f"{visit_id}/ended", team_source,
           {"visit_id": visit_id, "unit_id": unit.id}, visit_id)
    feedback = end + timedelta(days=v.feedback_after_days)
    b.emit("feedback.delivered", feedback, unit.id, f"{visit_id}/feedback", team_source,
           {"visit_id": visit_id, "unit_id": unit.id}, visit_id)
    report_due = add_months(feedback, b.report_months, tz)
    if v.report_after_days is None:
        b.owed.append((report_due, unit.id))
        return
    report_at = feedback + timedelta(days=v.report_after_days)
    b.owed.append((min(report_at, report_due), unit.id))
    unit_source = f"urn:inspections:unit:{unit.id}"
    for f_id in rectified + not_rectified:
        b.emit("finding.rectified", b.between(feedback, report_at), unit.id,
               f"{f_id}/rectified", unit_source, {"finding_id": f_id, "unit_id": unit.id},
               visit_id)
    done = rectified + not_rectified
    b.emit("rectification.report.submitted", report_at, unit.id, f"{visit_id}/report",
           unit_source, {"visit_id": visit_id, "unit_id": unit.id,
                         "report_id": f"{visit_id}-report",
                         "rectified_finding_ids": done,
                         "pending_finding_ids": [f for f in recorded_ids if f not in done]},
           visit_id)
    for f_id, days in followed:  # pending in the report, rectified later
        b.emit("finding.rectified", report_at + timedelta(days=days), unit.id,
               f"{f_id}/followed-up", unit_source, {"finding_id": f_id, "unit_id": unit.id},
               visit_id)
    check_at = report_at + timedelta(days=v.spot_check_after_days)
    for result, checked in (("confirmed", rectified), ("not_rectified", not_rectified)):
        if checked:
            b.emit("spot_check.conducted", check_at, unit.id, f"{visit_id}/spot/{result}",
                   office, {"visit_id": visit_id, "unit_id": unit.id, "finding_ids": checked,
                            "result": result, "method": v.check_method}, visit_id)
    if not_rectified:  # 回头看: the look-back finds them done
        for f_id in not_rectified:
            b.emit("finding.rectified", check_at + timedelta(days=v.look_back_after_days / 2),
                   unit.id, f"{f_id}/rectified-again", unit_source,
                   {"finding_id": f_id, "unit_id": unit.id}, visit_id)
        b.emit("spot_check.conducted", check_at + timedelta(days=v.look_back_after_days),
               unit.id, f"{visit_id}/look-back", office,
               {"visit_id": visit_id, "unit_id": unit.id, "finding_ids": not_rectified,
                "result": "confirmed", "method": "look_back"}, visit_id)


def _status_reports(b: _Builder) -> None:
    """The city office's monthly reports to the city government (报告市政府), each naming the
    units owed since the one before (a late unit a month later)."""
    s = b.s
    if s.status_report_day is None or not b.owed:
        return
    first = min(t for t, _ in b.owed).astimezone(b.tz)
    day = _at(date(first.year, first.month, s.status_report_day), 9, b.tz)
    owed, named, n = sorted(b.owed), set(), 0
    late = set(s.status_report_late)
    while day <= s.until:
        due = [unit for t, unit in owed if t <= day and unit not in named]
        now = [u for u in due if u not in late]
        late -= set(due)  # skipped once: named next month
        if now:
            n += 1
            b.emit(STATUS_REPORT_SUBMITTED, day, s.campaign.id, f"{s.campaign.id}/status/{n}",
                   "urn:inspections:city-safety-office",
                   {"report_id": f"{s.campaign.id}-status-{n:02d}", "campaign_id": s.campaign.id,
                    "unit_ids": now, "as_of": day.isoformat()})
            named |= set(now)
        day = add_months(day, 1, b.tz)


def _policy_changes(b: _Builder, settings: Settings) -> None:
    """The policies the city adopts mid-campaign, each whole (the seed's defaults of
    ``settings`` overlaid by its changes): one ``policy.adopted``, sent to every partition."""
    import yaml

    from runtime.config import policy

    for change in b.s.policy_changes:
        city = policy.parse(yaml.safe_dump(change.changes, allow_unicode=True),
                            policy.defaults(settings), f"scenario {b.s.name}: {change.id}")
        data, content = policy.adoption(city, f"scenario {b.s.name}", change.id, change.note)
        b.emit(POLICY_ADOPTED, change.at, POLICY_SUBJECT, f"policy/{content}",
               "urn:inspections:city-safety-committee", data)


def expand(scenario: Scenario, settings: Settings | None = None) -> list[dict]:
    """Every event of the scenario up to ``until``, in time order (ticks not included); the
    answers to escalations follow the escalation policy of ``settings``."""
    settings = settings or Settings()
    b = _Builder(scenario, escalation_config.policy(settings), settings.rectification_report_months)
    c = scenario.campaign
    units = {u.id: u for u in scenario.units}
    teams = {t.id: t for t in scenario.teams}
    b.emit("campaign.planned", c.planned_at, c.id, f"{c.id}/planned",
           "urn:inspections:city-safety-committee", {
               "campaign_id": c.id, "year": c.year, "title": c.title,
               "coverage_due": c.coverage_due.isoformat(),
               "units": [{"unit_id": u.id, "name": u.name, "kind": u.kind}
                         for u in scenario.units]})
    for visit in scenario.visits:
        _visit(b, visit, units[visit.unit], teams[visit.team])
    _status_reports(b)
    _policy_changes(b, settings)
    return [e for t, _, e in sorted(b.out, key=lambda x: (x[0], x[1])) if t <= scenario.until]


def ticks(scenario: Scenario, events: list[dict]) -> list[datetime]:
    """A clock tick every midnight from the first event to ``until``, and one at ``until``:
    months pass, and deadlines fall due, even on days without an event."""
    tz = _tz(scenario)
    first = datetime.fromisoformat(events[0]["time"]).astimezone(tz)
    day = datetime(first.year, first.month, first.day, tzinfo=tz) + timedelta(days=1)
    out = []
    while day < scenario.until:
        out.append(day)
        day += timedelta(days=1)
    return out + [scenario.until.astimezone(tz)]


def timeline(scenario: Scenario, settings: Settings | None = None
             ) -> list[tuple[datetime, dict | None]]:
    """(time, event) in time order, with ``None`` for a tick at that time."""
    events = expand(scenario, settings)
    items = [(datetime.fromisoformat(e["time"]), 1, i, e) for i, e in enumerate(events)]
    items += [(t, 0, i, None) for i, t in enumerate(ticks(scenario, events))]
    return [(t, e) for t, _, _, e in sorted(items, key=lambda x: x[:3])]


def paced(items: list[tuple[datetime, dict | None]], days_per_second: float,
          sleep: Callable[[float], None] = wall.sleep,
          clock: Callable[[], float] = wall.monotonic) -> Iterator[tuple[datetime, dict | None]]:
    """The items, each held back until its simulated time is due (0: no waiting)."""
    if not items:
        return
    t0, started = items[0][0], clock()
    for when, event in items:
        if days_per_second > 0:
            due = (when - t0).total_seconds() / 86400 / days_per_second
            late = due - (clock() - started)
            if late > 0:
                sleep(late)
        yield when, event


def record(event: dict) -> bytes:
    return dumps(event)


def as_records(items: list[tuple[datetime, dict | None]], topic: str, partitions: int):
    """The timeline as the records ``publish`` would append (ticks on every partition), for
    running it through the pure cores without a broker."""
    from inspections.audit.replay import Record
    from schemas.envelope import tick_events

    offsets = [0] * partitions
    out = []
    for when, event in items:
        if event is None:
            sent = [(p, None, raw) for p, raw in tick_events(when, range(partitions))]
        elif event["type"] in BROADCAST:
            sent = [(p, None, record(event)) for p in range(partitions)]
        else:
            key = event["subject"].encode()
            sent = [(partition_for(key, partitions), key, record(event))]
        for p, key, raw in sent:
            out.append(Record(topic, p, offsets[p], int(when.timestamp() * 1000), key, raw))
            offsets[p] += 1
    return out

"""One valid event of every type of the contract, shaped as the contract's tables say."""

from __future__ import annotations

import copy
import json

ENVELOPE = {
    "specversion": "1.0",
    "source": "urn:inspections:team:T1",
    "time": "2026-04-20T10:30:00+08:00",
    "subject": "changtai",
    "datacontenttype": "application/json",
    "correlationid": "visit-2026-changtai",
}

DATA = {
    "campaign.planned": {
        "campaign_id": "zhangzhou-2026", "year": 2026, "title": "漳州市县级政府安全生产巡查",
        "coverage_due": "2026-12-31",
        "units": [{"unit_id": "changtai", "name": "长泰县", "kind": "county"},
                  {"unit_id": "taishang", "name": "台商投资区", "kind": "zone"}],
    },
    "visit.scheduled": {
        "campaign_id": "zhangzhou-2026", "visit_id": "visit-2026-changtai",
        "unit_id": "changtai", "unit_name": "长泰县", "unit_kind": "county", "batch": 1,
        "phase": 1, "planned_start": "2026-04-18", "planned_end": "2026-04-28",
        "townships_total": 10, "departments_total": 20,
        "team": {"team_id": "T1", "members": [
            {"person_id": "p1", "name": "林某", "role": "leader", "organization": "市应急管理局",
             "trained": True, "rank": "division", "recently_retired": True},
            {"person_id": "p2", "name": "陈某", "role": "deputy_leader",
             "organization": "市住建局", "trained": True},
            {"person_id": "p3", "name": "黄某", "role": "expert", "organization": "市消防救援支队",
             "trained": True, "rank": "other"},
        ]},
    },
    "visit.started": {"visit_id": "visit-2026-changtai", "unit_id": "changtai"},
    "site.inspected": {
        "visit_id": "visit-2026-changtai", "unit_id": "changtai", "site_kind": "township",
        "site_id": "wuan", "site_name": "武安镇", "method": "unannounced_visit",
    },
    "visit.ended": {"visit_id": "visit-2026-changtai", "unit_id": "changtai"},
    "feedback.delivered": {"visit_id": "visit-2026-changtai", "unit_id": "changtai"},
    "finding.recorded": {
        "finding_id": "F-changtai-001", "visit_id": "visit-2026-changtai", "unit_id": "changtai",
        "category": "violation", "sector": "hazardous_chemicals", "aspect": 3, "item": 17,
        "site_id": "wuan", "description": "危險化學品倉庫未按規定設置防爆設施,,",
        "evidence": ["photo-17.jpg"], "advice": "立即整改", "cannot_ensure_safety": True,
        "listed_supervision_advised": True,
    },
    "enforcement.document.issued": {
        "finding_id": "F-changtai-001", "unit_id": "changtai", "document_no": "长应急罚〔2026〕17号",
        "department": "长泰县应急管理局",
    },
    "immediate.measures.taken": {
        "finding_id": "F-changtai-001", "unit_id": "changtai", "description": "停产整顿",
    },
    "finding.rectified": {"finding_id": "F-changtai-001", "unit_id": "changtai"},
    "escalation.acknowledged": {
        "escalation_id": "F-changtai-001:report_major_hazard", "unit_id": "changtai",
        "by": "city_safety_office",
    },
    "escalation.resolved": {
        "escalation_id": "F-changtai-001:report_major_hazard", "unit_id": "changtai",
        "resolution": "hazard removed",
    },
    "rectification.report.submitted": {
        "visit_id": "visit-2026-changtai", "unit_id": "changtai", "report_id": "R-1",
        "rectified_finding_ids": ["F-changtai-001"], "pending_finding_ids": [],
    },
    "spot_check.conducted": {
        "visit_id": "visit-2026-changtai", "unit_id": "changtai",
        "finding_ids": ["F-changtai-001"], "result": "confirmed",
    },
    "clock.ticked": {},
    "policy.adopted": {
        "policy_id": "2026-09 秋季加强 autumn", "source": "zhangzhou.yaml",
        "note": "文书时限缩短 documents within 12 h",
        "ladder": {"local_regulator": "city_safety_office", "unit_government":
                   "city_safety_office", "unit_safety_committee": "city_safety_office",
                   "discipline_authorities": "city_safety_committee",
                   "city_safety_office": "city_safety_committee",
                   "city_safety_committee": "city_government", "city_government": None},
        "actions": {"issue_enforcement_document": {
            "authority": "local_regulator", "closed_by": "enforcement.document.issued",
            "limit_h": 12.0}},
        "level_up_h": 24.0, "reminder_before_h": 4.0,
        "team": {"min_size": 5, "max_size": 7, "leaders": 1, "deputies": 1,
                 "trained": True, "experts": 1, "organizations": []},
    },
    "finding.amended": {
        "finding_id": "F-changtai-001", "unit_id": "changtai", "category": "major_hazard",
        "cannot_ensure_safety": True, "listed_supervision_advised": False,
        "reason": "重大隐患误记为违法违规 recorded as a violation by mistake",
    },
    "finding.withdrawn": {
        "finding_id": "F-changtai-001", "unit_id": "changtai",
        "reason": "重复记录 recorded twice",
    },
    "status.report.submitted": {
        "report_id": "SR-2026-07", "campaign_id": "zhangzhou-2026",
        "unit_ids": ["changtai", "pinghe"], "as_of": "2026-07-20T09:00:00+08:00",
    },
    "listed_supervision.decided": {
        "finding_id": "F-changtai-001", "unit_id": "changtai", "listed": True,
        "document_no": "长安委督〔2026〕3号",
    },
    "listed_supervision.lifted": {
        "finding_id": "F-changtai-001", "unit_id": "changtai", "document_no": "长安委督〔2026〕9号",
    },
    "investigation.concluded": {
        "finding_id": "F-changtai-001", "unit_id": "changtai",
        "outcome": "诫勉谈话 a formal admonition", "by": "discipline_authorities",
    },
    "escalation.withdrawn": {
        "escalation_id": "F-changtai-001:issue_enforcement_document",
        "finding_id": "F-changtai-001", "unit_id": "changtai",
        "action": "issue_enforcement_document", "authority": "local_regulator", "level": 1,
        "due": "2026-04-21T10:30:00+08:00",
        "reason": "finding F-changtai-001 amended, no longer needs it: recorded by mistake",
    },
    "escalation.raised": {
        "escalation_id": "F-changtai-001:issue_enforcement_document",
        "finding_id": "F-changtai-001", "unit_id": "changtai",
        "action": "issue_enforcement_document", "authority": "local_regulator", "level": 1,
        "due": "2026-04-21T10:30:00+08:00",
    },
    "escalation.escalated": {
        "escalation_id": "F-changtai-001:issue_enforcement_document",
        "finding_id": "F-changtai-001", "unit_id": "changtai",
        "action": "issue_enforcement_document", "authority": "city_safety_office", "level": 2,
        "due": "2026-04-22T10:30:00+08:00",
    },
    "deadline.breached": {
        "deadline_id": "d-1", "kind": "enforcement_document_overdue", "unit_id": "changtai",
        "subject_id": "F-changtai-001:issue_enforcement_document",
        "due": "2026-04-21T10:30:00+08:00", "breached_at": "2026-04-21T10:31:00+08:00",
    },
    "record.rejected": {
        "topic": "inspections.events", "partition": 3, "offset": 17,
        "timestamp": "2026-04-20T02:30:00.000+00:00", "reason": "not JSON: Expecting value",
        "key_base64": None, "value_base64": "eA==", "value_bytes": 1,
    },
}

SUBJECT = {"campaign.planned": "zhangzhou-2026", "status.report.submitted": "zhangzhou-2026",
           "clock.ticked": "clock", "policy.adopted": "policy",
           "record.rejected": "inspections.events/3/17"}
DERIVED_SOURCE = "urn:inspections:service:escalation"


def event(event_type: str, **envelope) -> dict:
    body = {
        **copy.deepcopy(ENVELOPE),
        "id": f"example-{event_type}",
        "type": event_type,
        "subject": SUBJECT.get(event_type, "changtai"),
        "data": copy.deepcopy(DATA[event_type]),
    }
    if event_type in ("escalation.raised", "escalation.escalated", "escalation.withdrawn",
                      "deadline.breached"):
        body["source"] = DERIVED_SOURCE
        body["causationid"] = "example-finding.recorded"
    body.update(envelope)
    return body


def raw(event_type: str, **envelope) -> bytes:
    return json.dumps(event(event_type, **envelope), ensure_ascii=False).encode()

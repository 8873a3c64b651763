"""The domain's words, each written once: the services, the event types the rules read, finding
categories, escalation actions and authorities, the routing table's facts, breach kinds and
statuses. Chinese names with English labels where the Chinese is the real name.

The contract's enumerations (``schemas.fields``), the rules, the metrics, the operator page
and the simulator all take their lists from here.
"""

from __future__ import annotations

SERVICES = ("scheduler", "findings", "escalation")
ALL = "all"  # one worker process hosting every service (``inspections run all``)

# -- event types the rules read (the contract names every one) ----------------------------------
CAMPAIGN_PLANNED = "campaign.planned"
VISIT_SCHEDULED = "visit.scheduled"
VISIT_STARTED = "visit.started"
SITE_INSPECTED = "site.inspected"
VISIT_ENDED = "visit.ended"
FEEDBACK_DELIVERED = "feedback.delivered"
FINDING_RECORDED = "finding.recorded"
DOCUMENT = "enforcement.document.issued"
MEASURES = "immediate.measures.taken"
FINDING_RECTIFIED = "finding.rectified"
ACK = "escalation.acknowledged"
RESOLVED = "escalation.resolved"
REPORT_SUBMITTED = "rectification.report.submitted"
SPOT_CHECK = "spot_check.conducted"
FINDING_AMENDED = "finding.amended"  # a correction: category, flags or texts
FINDING_WITHDRAWN = "finding.withdrawn"  # a finding that should not have been recorded
CLOCK_TICKED = "clock.ticked"

# -- what the services derive ------------------------------------------------------------------
ESCALATION_RAISED = "escalation.raised"
ESCALATION_ESCALATED = "escalation.escalated"
ESCALATION_WITHDRAWN = "escalation.withdrawn"
DEADLINE_BREACHED = "deadline.breached"
RECORD_REJECTED = "record.rejected"

# -- units ---------------------------------------------------------------------------------------
UNIT_KINDS = {"county": "县（市、区） county", "zone": "开发区 zone"}

# -- findings (问题清单, each team's problem list) -------------------------------------------------
CATEGORIES = {
    "general": "一般问题 general", "violation": "违法违规 violation",
    "major_hazard": "重大隐患 major hazard", "major_issue": "重大问题 major issue",
    "misconduct_clue": "违纪线索 misconduct clue", "accountability": "追责 accountability",
}
FINDING_STATUSES = ("pending", "handled", "rectified", "confirmed", "reopened", "withdrawn")

# -- escalation ------------------------------------------------------------------------------------
AUTHORITIES = {
    "local_regulator": "属地监管部门 local regulator",
    "city_safety_office": "市政府安办 city safety office",
    "city_safety_committee": "市政府安委会 city safety committee",
    "city_government": "市政府 city government",
    "unit_government": "县级政府 unit government",
    "unit_safety_committee": "县级安委会 unit safety committee",
    "discipline_authorities": "有关部门 discipline authorities",
}
ACTIONS = (
    "issue_enforcement_document", "report_major_hazard", "request_instructions",
    "report_misconduct_clue", "take_immediate_measures", "recommend_listed_supervision",
    "transfer_for_investigation",
)
# The routing table (domain.md): each action's first authority, the event that closes it, and
# the breach kind of a miss at its first level (every later miss: escalation_unacknowledged).
FIRST_AUTHORITY = {
    "issue_enforcement_document": "local_regulator",
    "report_major_hazard": "city_safety_office",
    "request_instructions": "city_safety_committee",
    "report_misconduct_clue": "city_safety_committee",
    "transfer_for_investigation": "discipline_authorities",
    "take_immediate_measures": "unit_government",
    "recommend_listed_supervision": "unit_safety_committee",  # 挂牌督办, listed supervision
}
CLOSED_BY = {action: ACK for action in ACTIONS} | {
    "issue_enforcement_document": DOCUMENT, "take_immediate_measures": MEASURES}
FIRST_MISS = {action: "escalation_unacknowledged" for action in ACTIONS} | {
    "issue_enforcement_document": "enforcement_document_overdue",
    "take_immediate_measures": "immediate_measures_overdue"}
# The action that a handling event names by its finding (the others name the escalation).
HANDLED_BY = {DOCUMENT: "issue_enforcement_document", MEASURES: "take_immediate_measures"}
BY_CATEGORY = {
    "violation": "issue_enforcement_document",
    "major_hazard": "report_major_hazard",
    "major_issue": "request_instructions",
    "misconduct_clue": "report_misconduct_clue",
    "accountability": "transfer_for_investigation",
}
IMMEDIATE_MEASURES_FOR = frozenset({"general", "violation", "major_hazard"})
# Who an escalation goes to when a level is missed (None: nobody, the top).
NEXT_AUTHORITY: dict[str, str | None] = {
    "local_regulator": "city_safety_office",
    "unit_government": "city_safety_office",
    "unit_safety_committee": "city_safety_office",
    "discipline_authorities": "city_safety_committee",
    "city_safety_office": "city_safety_committee",
    "city_safety_committee": "city_government",
    "city_government": None,
}
ESCALATION_STATUSES = ("open", "closed", "missed_at_top", "withdrawn")

# -- visits ----------------------------------------------------------------------------------------
VISIT_STATES = {
    "unscheduled": "未安排 unscheduled", "scheduled": "已安排 scheduled",
    "on_site": "驻点中 on site", "ended": "已结束 ended",
    "feedback_delivered": "已反馈 feedback given", "reported": "已报告整改 reported",
}

# -- breaches --------------------------------------------------------------------------------------
REPORT_OVERDUE = "rectification_report_overdue"  # a rectification report late or never sent
VISIT_BREACHES = ("visit_too_short", "township_coverage_short", "community_coverage_short",
                  "department_coverage_short", "enterprise_coverage_short")
BREACH_KINDS = (
    *VISIT_BREACHES, "team_composition_invalid", "evidence_or_advice_missing",
    "enforcement_document_overdue", "immediate_measures_overdue", "escalation_unacknowledged",
    REPORT_OVERDUE, "campaign_coverage_incomplete",
)
# What the annual assessment says of a year's rectification reports (worst of the year's).
REPORT_LATE, REPORT_ON_TIME, REPORT_NOT_SUBMITTED = "late", "on_time", "not_submitted"

# What is still due (``kernel.due``): the open obligations the services list.
OBLIGATION_KINDS = {
    "escalation": "督办 an escalation at its current level",
    "days_on_site": "驻点天数 a visit on site, not to end before its days",
    "rectification_report": "整改报告 a rectification report after feedback",
    "campaign_coverage": "全覆盖 a planned unit's visit, before coverage is due",
}

# Why a record of the inbound topic was rejected (a metric label, and ``cause`` on
# ``record.rejected``): judged from its bytes at the gate; then, with its partition's clock,
# a time too far ahead; last, a service whose handling of an accepted event failed.
TOO_FAR_AHEAD = "too_far_ahead"
PROCESSING_FAILED = "processing_failed"
REJECTION_CAUSES = (
    "empty", "oversize", "not_utf8", "not_json", "not_object", "unknown_type", "bad_version",
    "schema", "wrong_key", TOO_FAR_AHEAD, PROCESSING_FAILED,
)

# What a flow meets out of the usual course (a metric label).
IRREGULAR = ("duplicate", "late", "noted")

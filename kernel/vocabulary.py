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
# After-care (跟踪监督), added to the contract: the city office's report to the city government,
# the unit safety committee's decision on listed supervision (挂牌督办) and its lifting (摘牌),
# and the outcome of a transfer for investigation (移交调查处理).
STATUS_REPORT_SUBMITTED = "status.report.submitted"
LISTED_DECIDED = "listed_supervision.decided"
LISTED_LIFTED = "listed_supervision.lifted"
INVESTIGATION_CONCLUDED = "investigation.concluded"
CLOCK_TICKED = "clock.ticked"
# The city adopted a policy (added to the contract): in force in each partition from its place
# in the log on. Like a tick, sent without a key to every partition.
POLICY_ADOPTED = "policy.adopted"
POLICY_SUBJECT = "policy"
BROADCAST = (CLOCK_TICKED, POLICY_ADOPTED)  # the types sent without a key to every partition

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
# The rectification ledger (整改台账): where each finding stands in its after-care.
LEDGER_STATES = {
    "open": "未整改 open", "claimed": "已报整改 claimed", "pending": "整改中 pending",
    "verified": "已销号 verified", "reopened": "重新整改 reopened", "withdrawn": "已撤销 withdrawn",
}
# How the city office checks a unit's rectification after its report (``method`` of a
# ``spot_check.conducted``; absent: spot_check).
CHECK_METHODS = {"spot_check": "抽查 spot check", "unannounced_visit": "暗访 unannounced visit",
                 "look_back": "回头看 look-back"}

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
ACTION_NAMES = {
    "issue_enforcement_document": "下达执法文书 issue an enforcement document",
    "report_major_hazard": "上报重大隐患 report the major hazard",
    "request_instructions": "请示 request instructions",
    "report_misconduct_clue": "移送违纪线索 report the misconduct clue",
    "take_immediate_measures": "采取立即措施 take immediate measures",
    "recommend_listed_supervision": "建议挂牌督办 recommend listed supervision",
    "transfer_for_investigation": "移交调查 transfer for investigation",
}
# The routing table (docs/domain.md): each action's first authority, the event that closes it, and
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
FOLLOW_UP_OVERDUE = "rectification_follow_up_overdue"  # a pending or reopened finding not followed up
STATUS_REPORT_OVERDUE = "status_report_overdue"  # a unit not in a status report to the city government
VISIT_BREACHES = ("visit_too_short", "township_coverage_short", "community_coverage_short",
                  "department_coverage_short", "enterprise_coverage_short")
BREACH_KINDS = (
    *VISIT_BREACHES, "team_composition_invalid", "evidence_or_advice_missing",
    "enforcement_document_overdue", "immediate_measures_overdue", "escalation_unacknowledged",
    REPORT_OVERDUE, "campaign_coverage_incomplete", FOLLOW_UP_OVERDUE, STATUS_REPORT_OVERDUE,
)
BREACH_NAMES = {
    "visit_too_short": "驻点天数不足 visit too short",
    "township_coverage_short": "乡镇（街道）覆盖不足 township coverage short",
    "community_coverage_short": "社区覆盖不足 community coverage short",
    "department_coverage_short": "部门覆盖不足 department coverage short",
    "enterprise_coverage_short": "企业覆盖不足 enterprise coverage short",
    "team_composition_invalid": "巡查组组成不合规 team composition invalid",
    "evidence_or_advice_missing": "证据或整改建议缺失 evidence or advice missing",
    "enforcement_document_overdue": "执法文书逾期 enforcement document overdue",
    "immediate_measures_overdue": "立即措施逾期 immediate measures overdue",
    "escalation_unacknowledged": "督办逾期未办 escalation unacknowledged",
    REPORT_OVERDUE: "整改报告逾期 rectification report overdue",
    "campaign_coverage_incomplete": "巡查未全覆盖 campaign coverage incomplete",
    FOLLOW_UP_OVERDUE: "整改跟踪逾期 rectification follow-up overdue",
    STATUS_REPORT_OVERDUE: "未及时报告市政府 status report overdue",
}
# What the annual assessment says of a year's rectification reports (worst of the year's).
REPORT_LATE, REPORT_ON_TIME, REPORT_NOT_SUBMITTED = "late", "on_time", "not_submitted"

# What is still due (``kernel.due``): the open obligations the services list.
OBLIGATION_KINDS = {
    "escalation": "督办 an escalation at its current level",
    "days_on_site": "驻点天数 a visit on site, not to end before its days",
    "rectification_report": "整改报告 a rectification report after feedback",
    "campaign_coverage": "全覆盖 a planned unit's visit, before coverage is due",
    "rectification_follow_up": "整改跟踪 a pending or reopened finding, rectified again",
    "status_report": "报告市政府 a unit's rectification status, reported to the city government",
}

# Who owes an obligation that no authority holds (an escalation is its authority's).
OWED_BY = {"days_on_site": "city_safety_office", "campaign_coverage": "city_safety_office",
           "rectification_report": "unit_government",
           "rectification_follow_up": "unit_government",
           "status_report": "city_safety_office"}

# -- notices (to the people who must act; ``inspections notify``) ----------------------------------
# Each step of an obligation a notice says, once: it became someone's, it falls due soon, it
# was missed.
NOTICE_STEPS = {
    "assigned": "交办 it became yours (raised, or taken a level up to you)",
    "reminder": "到期提醒 it falls due soon",
    "breached": "逾期 it was missed",
}

# -- accounts (the people and systems who sign in to the operator page) ---------------------------
# Each role, what it covers, and the authorities its accounts may be (None: it acts as none).
ROLES = {
    "city": "市级 the city: its safety office, committee or government, every unit",
    "unit": "县区 a unit: its government, regulator or safety committee, that unit only",
    "authority": "有关部门 an authority such as the discipline authorities, every unit",
    "auditor": "审计 an auditor: reads everything, acts on nothing",
    "admin": "管理员 an administrator: reads everything, manages accounts, acts on nothing",
    "publisher": "上游系统 an upstream system: publishes its event types over HTTP, reads nothing",
}
ROLE_AUTHORITIES: dict[str, tuple[str, ...]] = {
    "city": ("city_safety_office", "city_safety_committee", "city_government"),
    "unit": ("local_regulator", "unit_government", "unit_safety_committee"),
    "authority": ("discipline_authorities",),
    "auditor": (), "admin": (), "publisher": (),
}

# Why a record of the inbound topic was rejected (a metric label, and ``cause`` on
# ``record.rejected``): judged from its bytes at the gate; then, with its partition's clock,
# a time too far ahead; last, a service whose handling of an accepted event failed.
TOO_FAR_AHEAD = "too_far_ahead"
BACKDATED = "backdated"  # a type that may not be dated before its partition's newest time
PROCESSING_FAILED = "processing_failed"
REJECTION_CAUSES = (
    "empty", "oversize", "not_utf8", "not_json", "not_object", "unknown_type", "bad_version",
    "schema", "wrong_key", TOO_FAR_AHEAD, BACKDATED, PROCESSING_FAILED,
)
NOT_BACKDATED = (POLICY_ADOPTED,)  # the contract: not dated before the partition's newest time

# What a flow meets out of the usual course (a metric label).
IRREGULAR = ("duplicate", "late", "noted")

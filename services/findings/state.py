"""The state the findings service keeps of each unit, frozen: its findings (each with its
history, its place in the rectification ledger, its follow-up, listing and conclusion), its
visits (with the checks after the report) and the breaches kept for the assessment.

Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class Policy:
    timezone: tzinfo
    general_rule: bool
    follow_up_months: int = 2  # a pending or reopened finding's follow-up; 0: none owed


@dataclass(frozen=True)
class Step:
    """One thing that happened to a finding."""

    time: datetime
    event_type: str
    event_id: str
    status: str
    note: str = ""
    ledger: str = ""  # the ledger's state after it ("": the step did not move it)


@dataclass(frozen=True)
class FollowUp:
    """What the unit owes again for a pending or reopened finding: by ``due``, set by the
    report or check ``set_by`` (the ``n``-th follow-up of the finding)."""

    n: int
    due: datetime
    set_by: str
    set_at: datetime
    ended_at: datetime | None = None  # claimed, verified or withdrawn
    breached: bool = False
    correlation_id: str | None = None  # the report's or check's (the breach keeps it)


@dataclass(frozen=True)
class Listing:
    """Listed supervision (挂牌督办) as the unit's safety committee decided it."""

    listed: bool
    decided_at: datetime
    document_no: str | None = None
    lifted_at: datetime | None = None  # 摘牌
    lifted_document_no: str | None = None


@dataclass(frozen=True)
class Conclusion:
    """The outcome of a transfer for investigation (移交调查处理)."""

    outcome: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Check:
    """A check by the city office after the unit's report (抽查, 暗访, 回头看)."""

    event_id: str
    time: datetime
    method: str
    result: str
    findings: int


@dataclass(frozen=True)
class Finding:
    finding_id: str
    visit_id: str
    category: str
    description: str
    evidence: tuple[str, ...]
    cannot_ensure_safety: bool
    recorded_at: datetime
    sector: str | None = None
    aspect: int | None = None
    item: int | None = None
    site_id: str | None = None
    advice: str | None = None
    listed_supervision_advised: bool = False
    status: str = "pending"
    handling: tuple[str, ...] = ()
    history: tuple[Step, ...] = ()
    ledger: str = "open"
    follow_up: FollowUp | None = None
    listing: Listing | None = None
    conclusion: Conclusion | None = None


@dataclass(frozen=True)
class VisitRecord:
    visit_id: str
    year: int | None = None
    ended_at: datetime | None = None
    report_id: str | None = None
    report_at: datetime | None = None
    campaign_id: str | None = None
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class BreachRecord:
    """A breach of any service about this unit, as kept for the assessment."""

    event_id: str
    kind: str
    subject_id: str
    due: datetime


@dataclass(frozen=True)
class BreachSeen:
    """A ``deadline.breached`` as this service reads it: its own, as it derives it; the other
    services', from their topic."""

    event_id: str
    unit_id: str
    kind: str
    subject_id: str
    due: datetime
    source: str


@dataclass(frozen=True)
class UnitFindings:
    unit_id: str
    findings: dict[str, Finding] = field(default_factory=dict)
    visits: dict[str, VisitRecord] = field(default_factory=dict)
    breaches: dict[str, BreachRecord] = field(default_factory=dict)
    # Events naming what this unit does not know (kept, counted, never a crash).
    unmatched: tuple[str, ...] = ()

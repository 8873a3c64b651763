"""Every inbound event type of the contract: the envelope and each inbound ``data`` shape (the
derived ones are in ``schemas.derived``).

One class per type, named as the event (past tense, as upstream says what happened). The
routing table ``INBOUND`` maps the wire ``type`` to its class.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas.catalogue import SECTORS
from schemas.fields import (
    FIRST_YEAR,
    LAST_YEAR,
    LIST_MAX,
    Category,
    CheckMethod,
    Data,
    Date,
    EscalationId,
    Id,
    Items,
    Method,
    Rank,
    Role,
    SiteKind,
    Source,
    SpotCheckResult,
    Text,
    Time,
    UnitKind,
)
from schemas.aftercare import (
    InvestigationConcludedData,
    ListedSupervisionDecidedData,
    ListedSupervisionLiftedData,
    StatusReportSubmittedData,
)
from schemas.policy import PolicyAdoptedData



def _known_sector(code: str) -> str:
    if code not in SECTORS:
        raise ValueError(f"should be a sector code of the catalogue: {', '.join(SECTORS)}")
    return code


Sector = Annotated[
    str, Field(max_length=64, json_schema_extra={"enum": list(SECTORS)}),
    AfterValidator(_known_sector),
]


# Other envelope attributes: no control characters.
_ATTRIBUTE = r"^[^\x00-\x1f\x7f-\x9f]*$"


# -- the envelope -------------------------------------------------------------------------
class Envelope(BaseModel):
    """A CloudEvents 1.0 event in structured mode. Extension attributes are kept."""

    model_config = ConfigDict(strict=True, frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: Id
    source: Source
    type: str
    time: Time
    subject: Id
    datacontenttype: Annotated[str, Field(max_length=128, pattern=_ATTRIBUTE)] | None = None
    dataschema: Annotated[str, Field(max_length=1024, pattern=_ATTRIBUTE)] | None = None
    dataversion: Annotated[int, Field(ge=0, le=1000)] = 1
    correlationid: Id | None = None
    # Who acted, when a person did (an extension attribute, optional: the operator page sets
    # it to the signed-in account of an action it publishes).
    actor: Id | None = None
    data: Any

    # Which data field the subject must equal (None: the subject is fixed or free).
    subject_field: ClassVar[str | None] = None
    fixed_subject: ClassVar[str | None] = None

    @model_validator(mode="after")
    def _subject_names_the_key_entity(self):
        if self.fixed_subject is not None and self.subject != self.fixed_subject:
            raise ValueError(f"subject of {self.type} should be {self.fixed_subject!r}")
        if self.subject_field is not None:
            expected = getattr(self.data, self.subject_field)
            if self.subject != expected:
                raise ValueError(
                    f"subject should equal data.{self.subject_field} ({expected!r}), "
                    f"got {self.subject!r}"
                )
        return self


class UnitEvent(Envelope):
    """An event about one unit: its subject (and so its Kafka key) is the unit id."""

    subject_field: ClassVar[str | None] = "unit_id"


class DerivedEvent(UnitEvent):
    """A derived event: ``source`` names the service, ``causationid`` the event that caused it."""

    causationid: Id


# -- inbound data shapes ------------------------------------------------------------------
class PlannedUnit(Data):
    unit_id: Id
    name: Text
    kind: UnitKind


class CampaignPlannedData(Data):
    campaign_id: Id
    year: Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
    title: Text
    coverage_due: Date
    units: Annotated[list[PlannedUnit], Field(min_length=1, max_length=LIST_MAX)]


class TeamMember(Data):
    person_id: Id
    name: Text
    role: Role
    organization: Text
    trained: bool
    rank: Rank | None = None
    recently_retired: bool | None = None


class Team(Data):
    team_id: Id
    members: Items[TeamMember]


class VisitScheduledData(Data):
    campaign_id: Id
    visit_id: Id
    unit_id: Id
    unit_name: Text
    unit_kind: UnitKind
    batch: Annotated[int, Field(ge=1, le=1000)]
    phase: Annotated[int, Field(ge=1, le=1000)] | None = None
    planned_start: Date
    planned_end: Date
    townships_total: Annotated[int, Field(ge=0, le=100_000)]
    departments_total: Annotated[int, Field(ge=0, le=100_000)]
    team: Team


class VisitData(Data):
    visit_id: Id
    unit_id: Id


class SiteInspectedData(Data):
    visit_id: Id
    unit_id: Id
    site_kind: SiteKind
    site_id: Id
    site_name: Text
    method: Method


class FindingRecordedData(Data):
    finding_id: Id
    visit_id: Id
    unit_id: Id
    category: Category
    sector: Sector | None = None
    aspect: Annotated[int, Field(ge=1, le=9)] | None = None
    item: Annotated[int, Field(ge=1, le=60)] | None = None
    site_id: Id | None = None
    description: Text
    evidence: Items[Text]
    advice: Text | None = None
    cannot_ensure_safety: bool
    listed_supervision_advised: bool = False


class FindingAmendedData(Data):
    """A correction (added to the contract): the whole classification, texts corrected."""

    finding_id: Id
    unit_id: Id
    category: Category
    cannot_ensure_safety: bool
    listed_supervision_advised: bool = False
    description: Text | None = None
    evidence: Items[Text] | None = None
    advice: Text | None = None
    reason: Text


class FindingWithdrawnData(Data):
    """A finding that should not have been recorded (added to the contract)."""

    finding_id: Id
    unit_id: Id
    reason: Text


class EnforcementDocumentIssuedData(Data):
    finding_id: Id
    unit_id: Id
    document_no: Id
    department: Text


class ImmediateMeasuresTakenData(Data):
    finding_id: Id
    unit_id: Id
    description: Text


class FindingRectifiedData(Data):
    finding_id: Id
    unit_id: Id


class EscalationAcknowledgedData(Data):
    escalation_id: EscalationId
    unit_id: Id
    by: Text


class EscalationResolvedData(Data):
    escalation_id: EscalationId
    unit_id: Id
    resolution: Text


class RectificationReportSubmittedData(Data):
    visit_id: Id
    unit_id: Id
    report_id: Id
    rectified_finding_ids: Items[Id]
    pending_finding_ids: Items[Id]


class SpotCheckConductedData(Data):
    visit_id: Id
    unit_id: Id
    finding_ids: Items[Id]
    result: SpotCheckResult
    # Added to the contract (optional): how the city office checked; absent, a spot check.
    method: CheckMethod = "spot_check"


class ClockTickedData(Data):
    pass



# -- inbound events -----------------------------------------------------------------------
class CampaignPlanned(Envelope):
    type: Literal["campaign.planned"]
    data: CampaignPlannedData
    subject_field: ClassVar[str | None] = "campaign_id"


class VisitScheduled(UnitEvent):
    type: Literal["visit.scheduled"]
    data: VisitScheduledData


class VisitStarted(UnitEvent):
    type: Literal["visit.started"]
    data: VisitData


class SiteInspected(UnitEvent):
    type: Literal["site.inspected"]
    data: SiteInspectedData


class VisitEnded(UnitEvent):
    type: Literal["visit.ended"]
    data: VisitData


class FeedbackDelivered(UnitEvent):
    """Feedback to the unit (反馈); its ``time`` is when feedback ended."""

    type: Literal["feedback.delivered"]
    data: VisitData


class FindingRecorded(UnitEvent):
    type: Literal["finding.recorded"]
    data: FindingRecordedData


class FindingAmended(UnitEvent):
    type: Literal["finding.amended"]
    data: FindingAmendedData


class FindingWithdrawn(UnitEvent):
    type: Literal["finding.withdrawn"]
    data: FindingWithdrawnData


class EnforcementDocumentIssued(UnitEvent):
    type: Literal["enforcement.document.issued"]
    data: EnforcementDocumentIssuedData


class ImmediateMeasuresTaken(UnitEvent):
    type: Literal["immediate.measures.taken"]
    data: ImmediateMeasuresTakenData


class FindingRectified(UnitEvent):
    type: Literal["finding.rectified"]
    data: FindingRectifiedData


class EscalationAcknowledged(UnitEvent):
    type: Literal["escalation.acknowledged"]
    data: EscalationAcknowledgedData


class EscalationResolved(UnitEvent):
    type: Literal["escalation.resolved"]
    data: EscalationResolvedData


class RectificationReportSubmitted(UnitEvent):
    type: Literal["rectification.report.submitted"]
    data: RectificationReportSubmittedData


class SpotCheckConducted(UnitEvent):
    type: Literal["spot_check.conducted"]
    data: SpotCheckConductedData


class StatusReportSubmitted(Envelope):
    type: Literal["status.report.submitted"]
    data: StatusReportSubmittedData
    subject_field: ClassVar[str | None] = "campaign_id"


class ListedSupervisionDecided(UnitEvent):
    type: Literal["listed_supervision.decided"]
    data: ListedSupervisionDecidedData


class ListedSupervisionLifted(UnitEvent):
    type: Literal["listed_supervision.lifted"]
    data: ListedSupervisionLiftedData


class InvestigationConcluded(UnitEvent):
    type: Literal["investigation.concluded"]
    data: InvestigationConcludedData


class ClockTicked(Envelope):
    """Moves stream time; sent without a key to every partition."""

    type: Literal["clock.ticked"]
    data: ClockTickedData
    fixed_subject: ClassVar[str | None] = "clock"


class PolicyAdopted(Envelope):
    """The city adopted a policy: in force in each partition from its place in the log on (it
    does not move stream time); sent without a key to every partition."""

    type: Literal["policy.adopted"]
    data: PolicyAdoptedData
    fixed_subject: ClassVar[str | None] = "policy"


def table(*classes: type[Envelope]) -> dict[str, type[Envelope]]:
    """The routing table: each class by the wire ``type`` it declares."""
    return {cls.model_fields["type"].annotation.__args__[0]: cls for cls in classes}


INBOUND: dict[str, type[Envelope]] = table(
    CampaignPlanned, VisitScheduled, VisitStarted, SiteInspected, VisitEnded, FeedbackDelivered,
    FindingRecorded, EnforcementDocumentIssued, ImmediateMeasuresTaken, FindingRectified,
    EscalationAcknowledged, EscalationResolved, RectificationReportSubmitted,
    SpotCheckConducted, ClockTicked, FindingAmended, FindingWithdrawn,
    StatusReportSubmitted, ListedSupervisionDecided, ListedSupervisionLifted,
    InvestigationConcluded, PolicyAdopted,
)

"""After-care's data shapes (跟踪监督), added to the contract as optional types: the city
office's report to the city government, the unit safety committee's decision on listed
supervision and its lifting, and the outcome of a transfer for investigation."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from schemas.fields import LIST_MAX, Data, Id, Text, Time


class StatusReportSubmittedData(Data):
    """The city office reported the rectification status of these units to the city
    government (报告市政府)."""

    report_id: Id
    campaign_id: Id
    unit_ids: Annotated[list[Id], Field(min_length=1, max_length=LIST_MAX)]
    as_of: Time


class ListedSupervisionDecidedData(Data):
    """The unit's safety committee decided whether to list the hazard (挂牌督办)."""

    finding_id: Id
    unit_id: Id
    listed: bool
    document_no: Id | None = None


class ListedSupervisionLiftedData(Data):
    """A listed hazard lifted (摘牌)."""

    finding_id: Id
    unit_id: Id
    document_no: Id | None = None


class InvestigationConcludedData(Data):
    """The outcome of a transfer for investigation (移交调查处理)."""

    finding_id: Id
    unit_id: Id
    outcome: Text
    by: Text

"""Field types of the contract: enumerations, dates, times with an offset, bounded numbers.

Models are strict (a string is not a number, 1 is not ``true``); dates and times are read from
ISO strings only, never from numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from kernel import vocabulary

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_time(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):
        raise ValueError("should be an ISO 8601 time string with an offset")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("should be an ISO date YYYY-MM-DD")
    return value


def _time_text(value: datetime) -> str:
    return value.isoformat()


# A time with its offset, as sent (the offset is kept: 10:30+08:00 stays 10:30+08:00).
Time = Annotated[
    AwareDatetime,
    Field(strict=False),
    BeforeValidator(_iso_time),
    PlainSerializer(_time_text, return_type=str),
]
Date = Annotated[date, Field(strict=False), BeforeValidator(_iso_date)]
# Identifiers are non-empty (CloudEvents asks it of id, source and type; escalation ids are
# built from finding ids). The record's 512 KiB bounds every length.
Id = Annotated[str, Field(min_length=1)]
Text = str

# The domain's lists are the kernel's vocabulary (one home); the contract holds them as
# enumerations. The rest are the contract's own.
UnitKind = Literal[tuple(vocabulary.UNIT_KINDS)]
Role = Literal["leader", "deputy_leader", "member", "expert"]
Rank = Literal["division", "section", "other"]
SiteKind = Literal["township", "community", "department", "enterprise"]
Method = Literal["report", "meeting", "documents", "open_visit", "unannounced_visit", "other"]
Category = Literal[tuple(vocabulary.CATEGORIES)]
SpotCheckResult = Literal["confirmed", "not_rectified"]
Action = Literal[vocabulary.ACTIONS]
Authority = Literal[tuple(vocabulary.AUTHORITIES)]
BreachKind = Literal[vocabulary.BREACH_KINDS]

def values(enumeration: Any) -> tuple[str, ...]:
    """The values of one of the Literal enumerations above."""
    return get_args(enumeration)


class Data(BaseModel):
    """Base of every ``data`` shape: strict, frozen; unknown fields tolerated (and dropped:
    the log keeps the original bytes)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

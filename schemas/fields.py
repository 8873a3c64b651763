"""Field types of the contract: enumerations, dates, times with an offset, bounded numbers.

Models are strict (a string is not a number, 1 is not ``true``); dates and times are read from
ISO strings only, never from numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from kernel import ids, vocabulary

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# -- bounds (the contract's "Bounds"): what one record can make a service keep or compute ------
# Dates and times from 2000 to 2099 (local time, offsets within ±14:00): every deadline the
# rules count from them (months, day ends, limits of up to a year) stays inside the calendar.
FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_OFFSET = timedelta(hours=14)
ID_MAX = ids.ID_MAX  # characters
ESCALATION_ID_MAX = ids.ESCALATION_ID_MAX
SOURCE_MAX = 256  # a URI reference naming the publisher
TEXT_MAX = 8192  # characters of a free text (a description, a resolution, a name)
LIST_MAX = 1000  # items of any list
# No control characters in an id (the stores' key separator is one); a text may hold tabs
# and line breaks, nothing else of C0, DEL or C1.
ID_CHARS = r"^[^\x00-\x1f\x7f-\x9f]+$"
TEXT_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def _iso_time(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):
        raise ValueError("should be an ISO 8601 time string with an offset")
    if isinstance(value, str) and len(value) > 64:
        raise ValueError("should be an ISO 8601 time string with an offset (at most 64 "
                         "characters)")
    return value


def _time_in_range(value: datetime) -> datetime:
    # Checked on the time as sent: converting 9999-12-31T23:59-14:00 to UTC would overflow.
    offset = value.utcoffset()
    if offset is None or abs(offset) > MAX_OFFSET:
        raise ValueError("should have an offset from -14:00 to +14:00")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"should be a time from {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _derived_time_in_range(value: datetime) -> datetime:
    # A derived time is an event's plus limits and months: later than any event may be.
    if value.utcoffset() is None or not FIRST_YEAR <= value.year <= LAST_YEAR + 100:
        raise ValueError(f"should be a time from {FIRST_YEAR} to {LAST_YEAR + 100} with an "
                         "offset")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("should be an ISO date YYYY-MM-DD")
    return value


def _date_in_range(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"should be a date from {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _time_text(value: datetime) -> str:
    return value.isoformat()


_TIME_SCHEMA = {"format": "date-time", "maxLength": 64,
                "description": f"ISO 8601 with an offset (-14:00 to +14:00), "
                               f"{FIRST_YEAR}-{LAST_YEAR}"}
_DATE_SCHEMA = {"format": "date", "description": f"YYYY-MM-DD, {FIRST_YEAR}-{LAST_YEAR}"}

# A time with its offset, as sent (the offset is kept: 10:30+08:00 stays 10:30+08:00).
Time = Annotated[
    AwareDatetime,
    Field(strict=False, json_schema_extra=_TIME_SCHEMA),
    BeforeValidator(_iso_time),
    AfterValidator(_time_in_range),
    PlainSerializer(_time_text, return_type=str),
]
# A time the services derive (a due time, a breach's time): an event's time and more.
DerivedTime = Annotated[
    AwareDatetime,
    Field(strict=False, json_schema_extra={"format": "date-time", "maxLength": 64}),
    BeforeValidator(_iso_time),
    AfterValidator(_derived_time_in_range),
    PlainSerializer(_time_text, return_type=str),
]
Date = Annotated[date, Field(strict=False, json_schema_extra=_DATE_SCHEMA),
                 BeforeValidator(_iso_date), AfterValidator(_date_in_range)]
# Identifiers are non-empty (CloudEvents asks it of id, source and type; escalation ids are
# built from finding ids), at most ID_MAX characters, without control characters.
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_CHARS)]
EscalationId = Annotated[str, Field(min_length=1, max_length=ESCALATION_ID_MAX,
                                    pattern=ID_CHARS)]
DeadlineId = Annotated[str, Field(min_length=1, max_length=ids.DEADLINE_ID_MAX,
                                  pattern=ID_CHARS)]
Source = Annotated[str, Field(min_length=1, max_length=SOURCE_MAX, pattern=ID_CHARS)]
Text = Annotated[str, Field(max_length=TEXT_MAX, pattern=TEXT_CHARS)]
T = TypeVar("T")
Items = Annotated[list[T], Field(max_length=LIST_MAX)]

# The domain's lists are the kernel's vocabulary (one home); the contract holds them as
# enumerations. The rest are the contract's own.
UnitKind = Literal[tuple(vocabulary.UNIT_KINDS)]
Role = Literal["leader", "deputy_leader", "member", "expert"]
Rank = Literal["division", "section", "other"]
SiteKind = Literal["township", "community", "department", "enterprise"]
Method = Literal["report", "meeting", "documents", "open_visit", "unannounced_visit", "other"]
Category = Literal[tuple(vocabulary.CATEGORIES)]
SpotCheckResult = Literal["confirmed", "not_rectified"]
CheckMethod = Literal[tuple(vocabulary.CHECK_METHODS)]
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

"""The CloudEvents 1.0 envelope (structured mode) of every event on the project's topics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    # Extension attributes beyond the contract's are kept, not rejected.
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime
    subject: str = Field(min_length=1)
    data: dict[str, Any]
    datacontenttype: str | None = None
    dataschema: str | None = None
    dataversion: int = Field(default=1, ge=0)
    correlationid: str | None = None
    causationid: str | None = None

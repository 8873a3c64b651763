"""The OpenAPI 3.1 document of ``POST /events`` (``schemas/openapi.yaml``), generated from the
models: each inbound event type's schema, the answer's, the binding's media types and headers.
``inspections contract write`` writes it with the JSON Schemas and the AsyncAPI document; a
test fails when the checked-in file is stale, and checks it with an OpenAPI validator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

import schemas
from inspections.ingest import binding
from schemas.events import INBOUND
from schemas.fields import LIST_MAX

OPENAPI = Path(schemas.__file__).resolve().parent / "openapi.yaml"
REF = "#/components/schemas/{model}"


class EventResult(BaseModel):
    """What became of one event of the request, in its order."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(description="Its place in the request (0 for one event).")
    id: str | None = Field(description="Its id, where it has one.")
    status: Literal[202, 400, 403] = Field(
        description="202 published (or published before: `duplicate`), 400 refused by the "
                    "gate, 403 not this publisher's to publish.")
    type: str | None = Field(None, description="Its type, when published.")
    partition: int | None = Field(None, description="Where the broker put it (a clock tick: "
                                                    "its first partition).")
    offset: int | None = None
    duplicate: bool | None = Field(None, description="Published before: not again.")
    cause: str | None = Field(None, description="The gate's cause, when refused (the "
                                                "rejection causes of the contract).")
    reason: str | None = Field(None, description="Why not, when refused.")


class IngestAnswer(BaseModel):
    """The answer to ``POST /events``: how many events were published and refused, and each."""

    model_config = ConfigDict(extra="forbid")

    accepted: int
    refused: int
    events: list[EventResult]


class ErrorAnswer(BaseModel):
    """A request refused whole: nothing was published."""

    model_config = ConfigDict(extra="forbid")

    error: str


def _answer(description: str, model: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


def document() -> dict[str, Any]:
    from importlib.metadata import version

    models = [(m, "validation") for m in INBOUND.values()] + [
        (IngestAnswer, "serialization"), (ErrorAnswer, "serialization")]
    _, defs = models_json_schema(models, ref_template=REF)
    components = dict(sorted(defs["$defs"].items()))
    names = {event_type: model.__name__ for event_type, model in INBOUND.items()}
    components["InboundEvent"] = {
        "description": "One inbound event of the contract (CloudEvents 1.0, structured).",
        "oneOf": [{"$ref": REF.format(model=n)} for n in names.values()],
        "discriminator": {"propertyName": "type",
                          "mapping": {t: REF.format(model=n) for t, n in names.items()}},
    }
    ce = [("specversion", "1.0", True), ("id", "the event's id", True),
          ("source", "who publishes it", True), ("type", "one of the contract's types", True),
          ("time", "when it happened, ISO 8601 with its offset", True),
          ("subject", "its unit (its Kafka key)", True),
          ("dataversion", "its data's version (an integer)", False),
          ("correlationid", "its case", False), ("actor", "who did it, if a person", False)]
    refused = "Refused whole; nothing was published."
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "inspections: upstream systems publishing over HTTP",
            "version": version("inspections"),
            "description": (
                "`inspections ingest`: the CloudEvents HTTP binding for upstream systems that "
                "cannot speak Kafka. Each event is judged by the same gate as the services "
                "and published to the inbound topic keyed by its subject (a clock tick to "
                "every partition), acknowledged by every in-sync replica before the answer. "
                "An event id is published once."),
        },
        "servers": [{"url": "http://127.0.0.1:6071"}],
        "security": [{"publisher": []}],
        "paths": {
            "/events": {"post": {
                "operationId": "publishEvents",
                "summary": "Publish one event or a batch",
                "description": (
                    f"Structured mode (`{binding.STRUCTURED}`: one event), a batch "
                    f"(`{binding.BATCH}`: at most {LIST_MAX}), or binary mode (the event's "
                    "attributes as `ce-` headers, percent-encoded; its data as the JSON body)."),
                "parameters": [{"name": f"ce-{name}", "in": "header", "required": False,
                                "description": f"Binary mode: {text}"
                                               + (" (required in binary mode)" if needed else ""),
                                "schema": {"type": "string"}} for name, text, needed in ce],
                "requestBody": {"required": True, "content": {
                    binding.STRUCTURED: {"schema": {"$ref": REF.format(model="InboundEvent")}},
                    binding.BATCH: {"schema": {"type": "array", "maxItems": LIST_MAX,
                                               "items": {"$ref": REF.format(
                                                   model="InboundEvent")}}},
                    "application/json": {"schema": {
                        "description": "Binary mode: the event's data."}}}},
                "responses": {
                    "202": _answer("Every event published (or published before).",
                                   "IngestAnswer"),
                    "207": _answer("Some published, some refused: each event's status.",
                                   "IngestAnswer"),
                    "400": _answer("None published: the gate refused the events (each with "
                                   "its cause and reason), or the request is no event at "
                                   "all (`error`).", "IngestAnswer"),
                    "401": _answer("No publisher's credentials.", "ErrorAnswer"),
                    "403": _answer("None published: none was this publisher's to publish.",
                                   "IngestAnswer"),
                    "413": _answer(f"Past the size cap or {LIST_MAX} events. {refused}",
                                   "ErrorAnswer"),
                    "415": _answer(f"No CloudEvents binding. {refused}", "ErrorAnswer"),
                    "429": _answer(f"Too many failed sign-ins. {refused}", "ErrorAnswer"),
                    "503": _answer("The broker did not take them: send them again.",
                                   "ErrorAnswer"),
                },
            }},
            "/openapi.json": {"get": {"operationId": "openapi", "security": [],
                                      "summary": "This document",
                                      "responses": {"200": {"description": "This document."}}}},
            "/healthz": {"get": {"operationId": "alive", "security": [],
                                 "summary": "Liveness",
                                 "responses": {"200": {"description": "It runs."}}}},
        },
        "components": {
            "securitySchemes": {"publisher": {
                "type": "http", "scheme": "basic",
                "description": "A publisher's account (`inspections accounts add NAME --role "
                               "publisher --type TYPE`): its name and secret."}},
            "schemas": components,
        },
    }


def text() -> str:
    return yaml.safe_dump(document(), allow_unicode=True, sort_keys=False, width=100)


def write() -> list[Path]:
    """Write the document when it changed; what changed."""
    wanted = text()
    if OPENAPI.is_file() and OPENAPI.read_text(encoding="utf-8") == wanted:
        return []
    OPENAPI.write_text(wanted, encoding="utf-8")
    return [OPENAPI]

"""The machine-readable contract, generated from the models: JSON Schema files for every type
(``schemas/json/``) and an AsyncAPI 3.0 document of every topic (``schemas/asyncapi.yaml``).

``inspections contract write`` regenerates them; a test fails when the checked-in files are
stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

import schemas
from inspections.localkafka import kafka_version
from runtime.config import topics
from schemas.derived import DERIVED
from schemas.events import INBOUND, Envelope
from schemas.gate import MAX_RECORD_BYTES

HERE = Path(schemas.__file__).resolve().parent  # the files sit beside the models
JSON_DIR = HERE / "json"
ASYNCAPI = HERE / "asyncapi.yaml"
SCHEMA_BASE = "https://inspections.example/schemas/"

SUBJECTS = {
    "campaign.planned": "the campaign_id",
    "clock.ticked": "the constant 'clock' (sent without a key to every partition)",
}


def _title(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace("_", ".").split("."))


def json_schema(event_type: str, model: type[Envelope]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    subject = SUBJECTS.get(event_type, "the data's unit_id")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{event_type}.json",
        **schema,
        "description": (
            (model.__doc__ or "").strip().split("\n\n")[0]
            + f" Subject (and Kafka key): {subject}."
        ).strip(),
    }


def json_schemas() -> dict[str, str]:
    """File name -> text of every type's JSON Schema."""
    out = {}
    for event_type, model in {**INBOUND, **DERIVED}.items():
        text = json.dumps(json_schema(event_type, model), indent=2, ensure_ascii=False)
        out[f"{event_type}.json"] = text + "\n"
    return out


# Who writes and who reads each topic: (topic, message types, publishers, consumers).
def _flows() -> list[tuple[str, list[str], list[str], list[str]]]:
    return [
        (topics.EVENTS, list(INBOUND), ["upstream systems", "clock publisher (scheduler)",
                                "operator page (accounts' actions)"],
         ["scheduler", "findings", "escalation", "replay and audit tools"]),
        (topics.ESCALATIONS, ["escalation.raised", "escalation.escalated", "escalation.withdrawn"],
         ["escalation"],
         ["operators", "replay and audit tools"]),
        (topics.BREACHES, ["deadline.breached"], ["scheduler", "findings", "escalation"],
         ["findings (assessment inputs)", "operators", "replay and audit tools"]),
        (topics.REJECTED, ["record.rejected"], ["scheduler (the gate)"],
         ["operators", "upstream systems"]),
    ]


def internal() -> dict[str, tuple[str, str]]:
    """The internal topics (one partition, a service's own packed records, not part of the
    public contract), each with who writes and who reads it: from the services'
    declarations, so that the document lists every topic."""
    from services import SYSTEM

    found = {}
    for service in SYSTEM:
        for write in service.writes:
            if write.topic is not None and write.key is None:
                readers = [f"{s.name} ({r.handler.__name__})" for s, r in SYSTEM.readers(write.topic)]
                found[write.topic] = (f"{service.name} (on_event)", ", ".join(readers))
    found[topics.GENERATIONS] = ("inspections rebuild (the live generation of a service's "
                                 "state)", "every worker (which generation to run)")
    return found


def _slug(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in text).split()
    return words[0].lower() + "".join(w.capitalize() for w in words[1:])


def _operation(action: str, channel: str, summary: str, messages: list) -> dict[str, Any]:
    return {"action": action, "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary, "messages": messages}


def asyncapi() -> dict[str, Any]:
    models = {**INBOUND, **DERIVED}
    keyed, defs = models_json_schema(
        [(model, "validation") for model in models.values()],
        ref_template="#/components/schemas/{model}",
    )
    schemas = dict(defs.get("$defs", {}))
    messages: dict[str, Any] = {}
    for event_type, model in models.items():
        ref = keyed[(model, "validation")]["$ref"]
        messages[_title(event_type)] = {
            "name": event_type,
            "title": event_type,
            "summary": (model.__doc__ or event_type).strip().split("\n")[0],
            "contentType": "application/json",
            "payload": {"$ref": ref},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": SUBJECTS.get(
                        event_type, "the unit_id (the event's subject)")},
                    "bindingVersion": "0.5.0",
                }
            },
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    specs = {spec.name: spec for spec in topics.TOPICS}
    for topic, types, publishers, consumers in _flows():
        channel = _slug(topic.removeprefix("inspections."))
        spec = specs[topic]
        channels[channel] = {
            "address": topic,
            "description": spec.purpose,
            "messages": {
                _title(t): {"$ref": f"#/components/messages/{_title(t)}"} for t in types
            },
            "bindings": {
                "kafka": {
                    "topic": topic,
                    "topicConfiguration": {
                        "retention.ms": int(spec.config["retention.ms"]),
                        "retention.bytes": int(spec.config["retention.bytes"]),
                        "cleanup.policy": [spec.config["cleanup.policy"]],
                        **({"max.message.bytes": int(spec.config["max.message.bytes"])}
                           if "max.message.bytes" in spec.config else {}),
                    },
                    "bindingVersion": "0.5.0",
                }
            },
        }
        msg_refs = [{"$ref": f"#/channels/{channel}/messages/{_title(t)}"} for t in types]
        for who in publishers:
            operations[_slug(f"{who} sends {channel}")] = _operation(
                "send", channel, f"{who} publishes to {topic}", msg_refs)
        for who in consumers:
            operations[_slug(f"{who} receives {channel}")] = _operation(
                "receive", channel, f"{who} reads {topic}", msg_refs)
    for topic, (writer, reader) in internal().items():
        channel = _slug(topic.removeprefix("inspections."))
        spec = specs[topic]
        channels[channel] = {
            "address": topic,
            "description": spec.purpose,
            "messages": {"internalRecord": {"$ref": "#/components/messages/InternalRecord"}},
        }
        for who, action in ((writer, "send"), (reader, "receive")):
            operations[_slug(f"{who} {action} {channel}")] = _operation(
                action, channel, f"{who} {'writes' if action == 'send' else 'reads'} {topic}",
                [{"$ref": f"#/channels/{channel}/messages/internalRecord"}])
    messages["InternalRecord"] = {
        "name": "internal",
        "title": "internal record",
        "summary": "A service's own re-keyed record: {kind, body}; not part of the contract.",
        "contentType": "application/json",
        "payload": {"type": "object", "required": ["kind", "body"],
                    "properties": {"kind": {"type": "string"}, "body": {"type": "object"}}},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Work-safety inspection campaign events",
            "version": "1.0.0",
            "description": (
                "The public event contract: CloudEvents 1.0 JSON in structured mode, UTF-8, at "
                f"most {MAX_RECORD_BYTES} bytes a record. Generated from schemas/ by "
                "`inspections contract write`; do not edit by hand."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "protocolVersion": kafka_version(),
                "description": "the local broker of `inspections broker start`",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def asyncapi_text() -> str:
    return yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=100)


def expected_files() -> dict[Path, str]:
    files = {JSON_DIR / name: text for name, text in json_schemas().items()}
    files[ASYNCAPI] = asyncapi_text()
    return files


def write() -> list[Path]:
    """Write every generated file; remove stale JSON Schema files. Returns what changed."""
    JSON_DIR.mkdir(exist_ok=True)
    files = expected_files()
    changed = []
    for path, text in files.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in JSON_DIR.glob("*.json"):
        if path not in files:
            path.unlink()
            changed.append(path)
    return changed

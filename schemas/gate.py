"""The gate: raw record bytes in, a typed event or a rejection a person can read out.

Never raises on input: whatever arrives, the caller gets one of the two and goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas.events import INBOUND, Envelope
from schemas.versions import CURRENT, UnknownVersion, upcast

MAX_RECORD_BYTES = 512 * 1024
_NO_KEY = object()


@dataclass(frozen=True)
class Rejection:
    """Why a record was refused: ``cause`` is one of CAUSES (a metric label), ``reason`` the
    sentence for a person (field path, what was expected, what came)."""

    cause: str
    reason: str


CAUSES = (
    "empty", "oversize", "not_utf8", "not_json", "not_object", "unknown_type", "bad_version",
    "schema", "wrong_key",
)


def _got(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"])
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            parts.append(f"{path}: required, missing")
        elif not path:
            parts.append(msg)
        else:
            parts.append(f"{path}: {msg} (got {_got(item.get('input'))})")
    return "; ".join(parts)


def _load(raw: bytes | None) -> dict | Rejection:
    if raw is None:
        return Rejection("empty", "empty record (no value)")
    if len(raw) > MAX_RECORD_BYTES:  # before any parsing
        return Rejection("oversize", f"record is {len(raw)} bytes, larger than {MAX_RECORD_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection("not_utf8", f"not UTF-8: invalid byte at position {exc.start}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection("not_json", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return Rejection("not_json", "not JSON this gate reads: nested too deeply")
    if not isinstance(obj, dict):
        return Rejection("not_object", f"not a JSON object: the record is a JSON {type(obj).__name__}")
    return obj


def _check_key(event: Envelope, key: bytes | None) -> Rejection | None:
    if event.type == "clock.ticked":
        return None if key is None else Rejection("wrong_key", "key: clock.ticked is sent without a key")
    expected = event.subject.encode()
    if key == expected:
        return None
    got = "none" if key is None else _got(key.decode("utf-8", errors="replace"))
    return Rejection("wrong_key", f"key: should be the subject {_got(event.subject)} (got {got})")


def decode(raw: bytes | None, key: Any = _NO_KEY) -> Envelope | Rejection:
    """Bytes of one record of ``inspections.events`` as its typed event, or why not.

    ``key``, when given, is the record's Kafka key, which must be the subject (none for
    ``clock.ticked``); a file of events has no keys and leaves it out.
    """
    obj = _load(raw)
    if isinstance(obj, Rejection):
        return obj
    event_type = obj.get("type")
    if "type" not in obj:
        return Rejection("schema", "type: required, missing")
    if not isinstance(event_type, str) or event_type not in INBOUND:
        return Rejection(
            "unknown_type", f"type: unknown event type {_got(event_type)}; known: {', '.join(INBOUND)}"
        )
    version = obj.get("dataversion", 1)
    if type(version) is not int:
        return Rejection("bad_version", f"dataversion: should be an integer (got {_got(version)})")
    if version != CURRENT[event_type] and isinstance(obj.get("data"), dict):
        try:
            obj = {**obj, "data": upcast(event_type, version, obj["data"]),
                   "dataversion": CURRENT[event_type]}
        except UnknownVersion as exc:
            return Rejection("bad_version", f"dataversion: {exc}")
    try:
        event = INBOUND[event_type].model_validate(obj)
    except ValidationError as exc:
        return Rejection("schema", _describe(exc))
    except RecursionError:
        return Rejection("schema", "data: nested too deeply")
    if key is not _NO_KEY:
        wrong = _check_key(event, key)
        if wrong is not None:
            return wrong
    return event

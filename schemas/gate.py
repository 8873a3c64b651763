"""The gate: raw record bytes in, an envelope or a rejection a person can read out.

Never raises on input: whatever arrives, the caller gets one of the two and goes on.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from pydantic import ValidationError

from inspections.codec import derived_id, from_epoch_ms
from schemas.envelope import Envelope

MAX_RECORD_BYTES = 512 * 1024
REJECTION_TYPE = "record.rejected"


@dataclass(frozen=True)
class Rejection:
    reason: str


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"]) or "(record)"
        if item["type"] == "missing":
            parts.append(f"{path}: required, missing")
        else:
            got = json.dumps(item.get("input"), ensure_ascii=False, default=str)
            if len(got) > 80:
                got = got[:77] + "..."
            parts.append(f"{path}: {item['msg']} (got {got})")
    return "; ".join(parts)


def decode(raw: bytes | None) -> Envelope | Rejection:
    if raw is None:
        return Rejection("empty record (no value)")
    if len(raw) > MAX_RECORD_BYTES:
        return Rejection(f"record is {len(raw)} bytes, larger than {MAX_RECORD_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(f"not UTF-8: invalid byte at position {exc.start}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return Rejection("not JSON this gate can read: nested too deeply")
    if not isinstance(obj, dict):
        return Rejection(f"not a JSON object: the record is a JSON {type(obj).__name__}")
    try:
        return Envelope.model_validate(obj)
    except ValidationError as exc:
        return Rejection(_describe(exc))


def rejection_event(
    *, service: str, topic: str, partition: int, offset: int, timestamp_ms: int,
    key: bytes | None, value: bytes | None, reason: str,
) -> dict:
    """The ``record.rejected`` event for one record: the original bytes, where it was, why.

    Its id comes from the record's position, so a re-emission after a crash is the same event.
    """
    return {
        "specversion": "1.0",
        "id": derived_id(REJECTION_TYPE, topic, str(partition), str(offset)),
        "source": f"urn:inspections:service:{service}",
        "type": REJECTION_TYPE,
        "time": from_epoch_ms(timestamp_ms),
        "subject": f"{topic}/{partition}/{offset}",
        "datacontenttype": "application/json",
        "data": {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp": from_epoch_ms(timestamp_ms),
            "reason": reason,
            "key_base64": None if key is None else base64.b64encode(key).decode(),
            "value_base64": None if value is None else base64.b64encode(value).decode(),
            "value_bytes": 0 if value is None else len(value),
        },
    }

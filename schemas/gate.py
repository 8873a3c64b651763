"""The gate: raw record bytes in, a typed event or a rejection a person can read out.

Never raises on input: whatever arrives, the caller gets one of the two and goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from kernel import vocabulary
from schemas import fields
from schemas.events import INBOUND, Envelope
from schemas.versions import CURRENT, UnknownVersion, upcast

MAX_RECORD_BYTES = 512 * 1024
REASON_MAX = 2000  # characters of a rejection's reason: the first errors and a count of the rest
FIRST_ERRORS = 5
_NO_KEY = object()


@dataclass(frozen=True)
class Rejection:
    """Why a record was refused: ``cause`` is one of CAUSES (a metric label), ``reason`` the
    sentence for a person (field path, what was expected, what came), at most REASON_MAX
    characters."""

    cause: str
    reason: str


CAUSES = vocabulary.REJECTION_CAUSES


def brief(value: Any, limit: int = 80) -> str:
    """``value`` as JSON for a reason, at most ``limit`` characters, at a cost that does not
    grow with the value (a list of a million items is "a list of 1000000 items")."""
    if isinstance(value, (list, tuple)):
        text = f"a list of {len(value)} items" if len(value) > 8 else _dumps(value)
    elif isinstance(value, dict):
        text = (f"an object of {len(value)} fields" if len(value) > 8 else _dumps(value))
    elif isinstance(value, str):
        text = _dumps(value[:limit])
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 30:
        text = f"a number of {len(str(abs(value)))} digits"
    else:
        text = _dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:4096]
    except (ValueError, TypeError, RecursionError):
        return type(value).__name__


# Control characters a record held, shown escaped (``\u007f``) in what a person reads.
_SHOWN = {c: f"\\u{c:04x}" for c in (*range(0x20), *range(0x7f, 0xa0)) if c not in (9, 10, 13)}


def capped(reason: str) -> str:
    """A reason of at most REASON_MAX characters, UTF-8 whatever the record held (a lone
    surrogate shown is a question mark), its control characters escaped."""
    reason = reason.translate(_SHOWN)
    reason = reason if len(reason) <= REASON_MAX else reason[:REASON_MAX - 3] + "..."
    return reason.encode("utf-8", "replace").decode("utf-8")


# What a pattern of the contract asks, in words (pydantic would show the pattern).
_PATTERNS = {fields.ID_CHARS: "should hold no control characters",
             fields.TEXT_CHARS: "should hold no control characters but tabs and line breaks"}


def _describe(error: ValidationError) -> str:
    parts = []
    items = error.errors(include_url=False)
    for item in items[:FIRST_ERRORS]:
        path = ".".join(str(p) for p in item["loc"])[:200]
        msg = item["msg"].removeprefix("Value error, ")[:300]
        if item["type"] == "string_pattern_mismatch":
            msg = _PATTERNS.get((item.get("ctx") or {}).get("pattern"), msg)
        if item["type"] == "missing":
            parts.append(f"{path}: required, missing")
        elif not path:
            parts.append(msg)
        else:
            parts.append(f"{path}: {msg} (got {brief(item.get('input'))})")
    if len(items) > FIRST_ERRORS:
        parts.append(f"and {len(items) - FIRST_ERRORS} more")
    return capped("; ".join(parts))


def _load(raw: bytes | None) -> dict | Rejection:
    if raw is None:
        return Rejection("empty", "empty record (no value)")
    if len(raw) > MAX_RECORD_BYTES:  # before any parsing
        return Rejection("oversize", f"record is {len(raw)} bytes, larger than {MAX_RECORD_BYTES} bytes")
    try:
        # Strict JSON: no NaN or Infinity, no lone surrogates, at most 1024 levels deep, an
        # integer beyond 64 bits read as a (refused) float. A name given twice in an object:
        # the last counts, as most readers do.
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Rejection("not_utf8", f"not UTF-8: invalid byte at position {bad.start}")
        return Rejection("not_json", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(obj, dict):
        return Rejection("not_object", f"not a JSON object: the record is a JSON {type(obj).__name__}")
    return obj


def _check_key(event: Envelope, key: bytes | None) -> Rejection | None:
    if event.type in vocabulary.BROADCAST:
        return None if key is None else Rejection(
            "wrong_key", f"key: {event.type} is sent without a key")
    expected = event.subject.encode()
    if key == expected:
        return None
    got = "none" if key is None else brief(key[:200].decode("utf-8", errors="replace"))
    return Rejection("wrong_key", f"key: should be the subject {brief(event.subject)} (got {got})")


def decode(raw: bytes | None, key: Any = _NO_KEY) -> Envelope | Rejection:
    """Bytes of one record of ``inspections.events`` as its typed event, or why not. Never
    raises: whatever fails in reading a record is that record's rejection.

    ``key``, when given, is the record's Kafka key, which must be the subject (none for
    ``clock.ticked``); a file of events has no keys and leaves it out.
    """
    try:
        decoded = _decode(raw, key)
    except Exception as exc:  # a failure of the gate's own: still the record's rejection
        decoded = Rejection("schema", f"could not be read: {type(exc).__name__}: "
                                      f"{str(exc)[:300]}")
    if isinstance(decoded, Rejection):
        return Rejection(decoded.cause, capped(decoded.reason))
    return decoded


def _decode(raw: bytes | None, key: Any) -> Envelope | Rejection:
    obj = _load(raw)
    if isinstance(obj, Rejection):
        return obj
    event_type = obj.get("type")
    if "type" not in obj:
        return Rejection("schema", "type: required, missing")
    if not isinstance(event_type, str) or event_type not in INBOUND:
        return Rejection(
            "unknown_type", f"type: unknown event type {brief(event_type)}; known: {', '.join(INBOUND)}"
        )
    version = obj.get("dataversion", 1)
    if type(version) is not int:
        return Rejection("bad_version", f"dataversion: should be an integer (got {brief(version)})")
    if version != CURRENT[event_type] and isinstance(obj.get("data"), dict):
        try:
            obj = {**obj, "data": upcast(event_type, version, obj["data"]),
                   "dataversion": CURRENT[event_type]}
        except UnknownVersion as exc:
            return Rejection("bad_version", capped(f"dataversion: {exc}"))
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


def too_far_ahead(event_time: datetime, newest: datetime | None, appended: datetime,
                  limit: timedelta) -> Rejection | None:
    """Why an event is refused for its time, or None: it may be dated at most ``limit`` ahead
    of its partition's clock, the later of ``newest`` (the newest time the partition has
    accepted) and ``appended`` (when the broker appended the record)."""
    clock = appended if newest is None or appended > newest else newest
    if event_time - clock <= limit:
        return None
    return Rejection(vocabulary.TOO_FAR_AHEAD, (
        f"time: {event_time.isoformat()} is more than {_span(limit)} ahead of this "
        f"partition's clock ({clock.isoformat()}, the later of its newest event time and "
        f"the time the record was appended); an event says when it happened: send it with "
        f"its real time (INSPECTIONS_MAX_TIME_AHEAD sets the span)"))


def backdated(event_type: str, event_time: datetime, newest: datetime) -> Rejection:
    """A ``policy.adopted`` dated before the newest time already on its partition: it would
    judge by hindsight events that were judged before it came."""
    return Rejection(vocabulary.BACKDATED, (
        f"time: a {event_type} may not be dated before the newest time already on its "
        f"partition ({newest.isoformat()}); it says {event_time.isoformat()}: send it again "
        f"dated {newest.isoformat()} or later"))


def _span(limit: timedelta) -> str:
    hours = limit.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 or hours % 24 else f"{hours / 24:g} days"

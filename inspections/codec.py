"""Canonical JSON and deterministic ids: what makes a re-emission byte-for-byte the same."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

# Namespace of every id the project derives (UUIDv5 of the cause); fixed forever.
NAMESPACE = uuid.UUID("6f2d8a4e-3b7c-5e91-a0d4-9c1b2e7f4a53")


def dumps(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 as is: equal content gives equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def derived_id(*cause: str) -> str:
    """The id of a derived event, from what caused it: the same cause, the same id."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(cause)))


def from_epoch_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")

"""Canonical JSON: what makes a re-emission byte-for-byte the same."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any


def dumps(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 as is: equal content gives equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def from_epoch_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")

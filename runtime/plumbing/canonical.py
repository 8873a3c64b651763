"""Canonical JSON (``kernel.codec.dumps``: sorted keys, no spaces, UTF-8 as is) written by
orjson, ten times as fast, for values without floats (orjson writes some floats otherwise:
1e-05 as 1e-5): every derived event, a finding's and an escalation's view. A property test
holds the two to the same bytes."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)

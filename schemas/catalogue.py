"""The catalogue of what an inspection covers (``catalogue.json``): the key-sector codes a
finding's ``sector`` may take, and the names of the 9 aspects and 60 items (the seed names
some; the city completes the rest in the file, not in code)."""

from __future__ import annotations

import json
from pathlib import Path

_DATA = json.loads(Path(__file__).with_name("catalogue.json").read_text(encoding="utf-8"))
SECTORS: dict[str, str] = _DATA["sectors"]
ASPECTS: dict[int, str | None] = {int(k): v for k, v in _DATA["aspects"].items()}
ITEMS: dict[int, str | None] = {int(k): v for k, v in _DATA["items"].items()}


def sector_name(code: str | None) -> str:
    return "–" if code is None else SECTORS.get(code, code)


def aspect_name(number: int | None) -> str:
    """``3 安全生产责任体系 the responsibility system``, or ``5`` while the city has not
    named it."""
    if number is None:
        return "–"
    name = ASPECTS.get(number)
    return f"{number} {name}" if name else str(number)


def item_name(number: int | None) -> str:
    if number is None:
        return "–"
    name = ITEMS.get(number)
    return f"{number} {name}" if name else str(number)

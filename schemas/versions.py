"""Shapes of ``data`` by ``dataversion``: an upcaster chain reads an older shape as the current.

An upcaster turns version n of one type into version n + 1; reading applies them in turn, so
a record of any known version becomes the current shape, and the services only ever see that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.derived import DERIVED
from schemas.events import INBOUND

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# Every shape in the contract is version 1.
CURRENT: dict[str, int] = {name: 1 for name in (*INBOUND, *DERIVED)}


def _site_inspected_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 of ``site.inspected`` (the pilot's) said ``kind`` and ``name``; 1 says
    ``site_kind`` and ``site_name``."""
    out = {k: v for k, v in data.items() if k not in ("kind", "name")}
    if "kind" in data:
        out.setdefault("site_kind", data["kind"])
    if "name" in data:
        out.setdefault("site_name", data["name"])
    return out


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("site.inspected", 0): _site_inspected_0_to_1,
}


class UnknownVersion(ValueError):
    pass


def oldest(event_type: str) -> int:
    version = CURRENT[event_type]
    while (event_type, version - 1) in UPCASTERS:
        version -= 1
    return version


def upcast(event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` of ``version`` read as the current version of ``event_type``."""
    current = CURRENT[event_type]
    if version > current or version < oldest(event_type):
        raise UnknownVersion(
            f"dataversion {version} of {event_type} is not known "
            f"(this reader knows {oldest(event_type)} to {current})"
        )
    while version < current:
        data = UPCASTERS[(event_type, version)](data)
        version += 1
    return data

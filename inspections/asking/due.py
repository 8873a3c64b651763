"""What is due, across the services: each service's ``/due`` answer (``kernel.due``) merged
into one list, soonest first, each obligation with the service that owns it and that
service's stream time ("as of"). Used by the operator page and ``inspections due``."""

from __future__ import annotations

from inspections.asking.client import get
from kernel.due import OWNERS, merge
from kernel.paging import due_cursor, due_order, page_size, with_next
from runtime.config.settings import Settings


def merged_page(answers: dict[str, dict], limit: str | None) -> dict:
    """One page of the merged list from each owner's page after the same cursor (a place in
    the one order they share): the first ``limit`` of their items together, and the cursor of
    the next page when more came, or an owner has more."""
    merged, size = merge(answers), page_size(limit)
    more = len(merged["due"]) > size or any(a.get("next_cursor") for a in answers.values())
    if not more:
        return merged
    page = sorted(merged["due"], key=due_order)[:size]  # pages are in the one order
    return with_next({**merged, "due": page}, due_cursor(page[-1]))


def fetch(settings: Settings, **filters: str | None) -> dict:
    """Ask each owner's ``/due`` with the filters (unit, authority, kind, due_within) and
    merge. A RuntimeError that says which service did not answer, or what was refused."""
    return merge({service: get(settings, service, "/due", **filters) for service in OWNERS})


def from_memory(memory, settings: Settings, **filters: str | None) -> dict:
    """What is due in a run of the services in memory (a replay's), as ``fetch`` merges it
    from the workers: each owner's ``/due`` view, every page of it."""
    from runtime.memory_runner.reading import Answering

    answering, query = Answering(memory, settings), {k: v for k, v in filters.items() if v}
    return merge({service: answering.whole(service, "due", query) for service in OWNERS})


def countdown(seconds: int | None) -> str:
    """``2 d 3 h``, ``5 h 10 min``, ``overdue 1 h 0 min``: for people."""
    if seconds is None:
        return "–"
    sign, seconds = ("overdue " if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    text = f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min"
    return sign + text

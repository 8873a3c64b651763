"""Pages of a list view, and the words of a view's request (a year, a small number): pure
functions the services' read models and the tools share. A ValueError names what is wrong
(an HTTP runner answers it as a 400)."""

from __future__ import annotations

import json
import re
from datetime import datetime


DEFAULT_PAGE, MAX_PAGE = 500, 5_000  # a list view's page: by default, and at most


def page_size(limit: str | None) -> int:
    """A list view's ``limit``: DEFAULT_PAGE when not given. A ValueError names a bad one."""
    if limit in (None, ""):
        return DEFAULT_PAGE
    # ASCII digits only: "²".isdigit() is true, and int() refuses it.
    if not (limit.isascii() and limit.isdigit() and len(limit) <= 6) \
            or not 1 <= int(limit) <= MAX_PAGE:
        raise ValueError(f"limit must be a number from 1 to {MAX_PAGE}; got {limit[:40]!r}")
    return int(limit)


def paged(items: list, key, limit: str | None, cursor: str | None) -> tuple[list, str | None]:
    """One page of ``items`` (sorted by ``key``, a string): those after ``cursor`` (the key
    of the last item of the page before), at most ``limit``; and the cursor of the next page,
    None at the end. A ValueError names a bad ``limit``."""
    size = page_size(limit)
    ordered = sorted(items, key=key)
    if cursor:
        ordered = [i for i in ordered if key(i) > cursor]
    page = ordered[:size]
    return page, (key(page[-1]) if len(ordered) > size else None)


def paged_in_order(items: list, key, limit: str | None,
                   cursor: str | None) -> tuple[list, str | None]:
    """``paged`` for a list kept in its own order (one only ever appended to): the items
    after the one whose key is ``cursor``. A ValueError names a bad ``limit`` or cursor."""
    size = page_size(limit)
    start = 0
    if cursor:
        keys = [key(i) for i in items]
        if cursor not in keys:
            raise ValueError(f"cursor {cursor[:80]!r} is not in the list")
        start = keys.index(cursor) + 1
    page = items[start:start + size]
    return page, (key(page[-1]) if len(items) > start + size else None)


def due_order(view: dict) -> tuple:
    """Where an obligation stands in a due list: soonest first (``kernel.due.due_list``), and
    of those due at the same time of one kind and subject (a campaign's coverage, per unit),
    by unit: one place for each."""
    return (datetime.fromisoformat(view["due"]), view["kind"], view["subject_id"],
            view["unit_id"])


def due_cursor(view: dict) -> str:
    return json.dumps([view["due"], view["kind"], view["subject_id"], view["unit_id"]],
                      ensure_ascii=False, separators=(",", ":"))


def _due_mark(cursor: str) -> tuple:
    due, kind, subject, unit = json.loads(cursor)
    at = datetime.fromisoformat(due)
    if at.tzinfo is None or not all(isinstance(t, str) for t in (kind, subject, unit)):
        raise ValueError("not a place in a due list")
    return at, kind, subject, unit


def paged_due(items: list[dict], limit: str | None,
              cursor: str | None) -> tuple[list[dict], str | None]:
    """A page of a due list (sorted soonest first): those after ``cursor``, which names a
    place in the order, not an item, so that a page still follows when the obligation it
    ended at was met meanwhile; and the operator page can ask each service for the items
    after one cursor and merge. A list that fits one page is answered as it is; pages are in
    ``due_order``. A ValueError names a bad ``limit`` or cursor."""
    size = page_size(limit)
    if not cursor and len(items) <= size:
        return items, None
    items = sorted(items, key=due_order)
    if cursor:
        try:
            if len(cursor) > 2_000:  # a place is an id or two long (and deep JSON recurses)
                raise ValueError("too long")
            mark = _due_mark(cursor)
        except (ValueError, TypeError, RecursionError):
            raise ValueError(f"cursor {cursor[:80]!r} is not one a due list gave") from None
        items = [i for i in items if due_order(i) > mark]
    page = items[:size]
    return page, (due_cursor(page[-1]) if len(items) > size else None)


def with_next(answer: dict, next_cursor: str | None) -> dict:
    """A list view that was answered whole before it was paged: ``next_cursor`` added when
    there is a next page only, so that a whole answer stays what it was (and what replay
    builds for the same view)."""
    return answer if next_cursor is None else {**answer, "next_cursor": next_cursor}


_YEAR = re.compile(r"[0-9]{4}", re.ASCII)


def year_of(text: str) -> int:
    """A year in a path (``/assessments/2026``): four ASCII digits from 1900 (the dates of its
    days must exist). A ValueError otherwise."""
    if not _YEAR.fullmatch(text) or not 1900 <= int(text) <= 9998:
        raise ValueError("year must be a year such as 2026")
    return int(text)


def whole_number(text: str | None, name: str, largest: int = 1_000) -> int | None:
    """A query's small whole number (``level=2``); None when not given. A ValueError names a
    bad one (``²`` is a digit to ``str.isdigit`` but not to ``int``)."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or int(text) > largest:
        raise ValueError(f"{name} must be a number from 0 to {largest}; got {text[:40]!r}")
    return int(text)

"""The workers' HTTP answers over their state."""

from __future__ import annotations


def json_or_404(web, value, what: str):
    """A view's answer: the value as JSON, or 404 saying what was not found."""
    if value is None:
        return web.json({"error": f"{what} not found"}, status=404)
    return web.json(value)


DEFAULT_PAGE, MAX_PAGE = 500, 5_000  # a list view's page: by default, and at most


def page_size(limit: str | None) -> int:
    """A list view's ``limit``: DEFAULT_PAGE when not given. A ValueError names a bad one."""
    if limit in (None, ""):
        return DEFAULT_PAGE
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE:
        raise ValueError(f"limit must be a number from 1 to {MAX_PAGE}; got {limit!r}")
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
            raise ValueError(f"cursor {cursor!r} is not in the list")
        start = keys.index(cursor) + 1
    page = items[start:start + size]
    return page, (key(page[-1]) if len(items) > start + size else None)

"""The workers' HTTP answers over their state."""

from __future__ import annotations


def json_or_404(web, value, what: str):
    """A view's answer: the value as JSON, or 404 saying what was not found."""
    if value is None:
        return web.json({"error": f"{what} not found"}, status=404)
    return web.json(value)


DEFAULT_PAGE, MAX_PAGE = 500, 5_000  # a list view's page: by default, and at most


def paged(items: list, key, limit: str | None, cursor: str | None) -> tuple[list, str | None]:
    """One page of ``items`` (sorted by ``key``, a string): those after ``cursor`` (the key
    of the last item of the page before), at most ``limit``; and the cursor of the next page,
    None at the end. A ValueError names a bad ``limit``."""
    if limit in (None, ""):
        size = DEFAULT_PAGE
    elif not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE:
        raise ValueError(f"limit must be a number from 1 to {MAX_PAGE}; got {limit!r}")
    else:
        size = int(limit)
    ordered = sorted(items, key=key)
    if cursor:
        ordered = [i for i in ordered if key(i) > cursor]
    page = ordered[:size]
    return page, (key(page[-1]) if len(ordered) > size else None)

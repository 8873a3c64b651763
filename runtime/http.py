"""The workers' HTTP answers over their state."""

from __future__ import annotations


def json_or_404(web, value, what: str):
    """A view's answer: the value as JSON, or 404 saying what was not found."""
    if value is None:
        return web.json({"error": f"{what} not found"}, status=404)
    return web.json(value)

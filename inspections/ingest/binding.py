"""The CloudEvents HTTP protocol binding (1.0), as ``POST /events`` reads it: a request's
body and headers as the bytes of each event it carries, for the gate to judge.

- structured mode, one event: ``Content-Type: application/cloudevents+json``, the event as
  the body (its bytes published as they came);
- a batch: ``Content-Type: application/cloudevents-batch+json``, a JSON array of events;
- binary mode, one event: its attributes as ``ce-`` headers (percent-encoded), the body its
  ``data`` (JSON), ``Content-Type`` its ``datacontenttype``.

Pure: no HTTP server, no Kafka. What cannot be read as events at all is an ``Unreadable``
(the whole request's 400 or 415); each event that is read is judged by the gate on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

from schemas.fields import LIST_MAX

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
# Attributes of the contract whose values are integers (a header is text).
INTEGER_ATTRIBUTES = frozenset({"dataversion"})


class Unreadable(ValueError):
    """A request that carries no events this binding reads: its status and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Carried:
    """One event as the request carried it: its bytes, and its place in the request."""

    index: int
    raw: bytes


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _strict(text: str):
    raise ValueError(f"{text} is not JSON")


def events_of(body: bytes, headers) -> list[Carried]:
    """The events a request carries, in order. ``headers``: a case-insensitive mapping."""
    kind = media_type(headers.get("Content-Type"))
    if headers.get("ce-specversion") is not None:
        return [Carried(0, binary(body, headers))]
    if kind == STRUCTURED:
        return [Carried(0, body)]
    if kind == BATCH:
        try:
            items = json.loads(body, parse_constant=_strict)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unreadable(400, f"the batch is not a JSON array of events: {str(exc)[:200]}") \
                from None
        if not isinstance(items, list):
            raise Unreadable(400, "the batch is not a JSON array of events")
        if len(items) > LIST_MAX:
            raise Unreadable(413, f"a batch holds at most {LIST_MAX} events; this one "
                                  f"{len(items)}: send it in parts")
        # Each event as JSON of its own (ASCII escapes: a lone surrogate stays one the gate
        # refuses, never bytes that are no UTF-8).
        return [Carried(i, json.dumps(item, separators=(",", ":")).encode())
                for i, item in enumerate(items)]
    raise Unreadable(415, f"Content-Type {kind or 'none'}: send one event as {STRUCTURED}, a "
                          f"batch as {BATCH}, or one event in binary mode (its attributes as "
                          "ce- headers, ce-specversion among them, and its data as the body)")


def binary(body: bytes, headers) -> bytes:
    """A binary-mode event as the JSON the contract reads: its ``ce-`` headers (decoded) as
    attributes, its body as ``data``."""
    event: dict = {}
    for name, value in headers.items():
        lower = name.lower()
        if not lower.startswith("ce-") or len(lower) <= 3:
            continue
        attribute = lower[3:]
        if attribute in event:
            raise Unreadable(400, f"the header {name} is given twice")
        try:
            text = unquote(value, errors="strict") if "%" in value else value
        except UnicodeDecodeError:
            raise Unreadable(400, f"the header {name} is not percent-encoded UTF-8") from None
        if attribute in INTEGER_ATTRIBUTES and text.isascii() and text.isdigit():
            event[attribute] = int(text)
        else:
            event[attribute] = text
    kind = media_type(headers.get("Content-Type"))
    if kind and kind != "application/json":
        raise Unreadable(415, f"binary mode: the data must be application/json, not {kind}")
    event["datacontenttype"] = "application/json"
    try:
        event["data"] = json.loads(body, parse_constant=_strict) if body.strip() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(400, f"binary mode: the body (the event's data) is not JSON: "
                              f"{str(exc)[:200]}") from None
    return json.dumps(event, separators=(",", ":")).encode()

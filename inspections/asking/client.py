"""Asking the running services' views over HTTP, for commands (the operator page asks the
same URLs with aiohttp: ``inspections.page.sources.Views``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kernel.vocabulary import ALL, SERVICES
from runtime.config.settings import Settings
from runtime.faust_runner.app import web_port
from runtime.plumbing import webauth


def service_url(settings: Settings, service: str) -> str:
    """Where a service's views are asked: its ``INSPECTIONS_<SERVICE>_URL``, else under
    ``INSPECTIONS_ALL_URL`` (a worker of every service: ``/<service>``), else the local
    worker's port."""
    own = getattr(settings, f"{service}_url")
    if own:
        return own.rstrip("/")
    if settings.all_url:
        return f"{settings.all_url.rstrip('/')}/{service}"
    return f"http://{settings.local_web_host}:{web_port(settings, service)}"


def deployed(settings: Settings) -> tuple[str, ...]:
    """The workers this deployment runs, by the name each runs as: one worker of every
    service (``INSPECTIONS_ALL_URL`` set: ``inspections run all``), else each service's own."""
    return (ALL,) if settings.all_url else SERVICES


def worker_url(settings: Settings, name: str) -> str:
    """Where the worker named ``name`` (a service, or ``ALL``) answers ``/readyz``."""
    if name == ALL:
        return settings.all_url.rstrip("/")
    return service_url(settings, name)


# The list a paged view's pages hold, by the first of these names in its answer.
PAGED_FIELDS = ("units", "due", "escalations", "findings", "rejected", "breaches")


def get(settings: Settings, service: str, path: str, **params: str | None) -> Any:
    """The view's JSON, whole: a paged view's pages followed (their ``next_cursor``) and its
    list put together, unless a ``cursor`` is asked for (then that page); None for a 404. A
    RuntimeError that says which service did not answer, or what it refused."""
    first = one(settings, service, path, **params)
    if params.get("cursor") or not isinstance(first, dict):
        return first
    field = next((f for f in PAGED_FIELDS if isinstance(first.get(f), list)), None)
    answer, seen = first, set()
    while field and answer is not None and answer.get("next_cursor"):
        cursor = answer["next_cursor"]
        if cursor in seen:  # a service that does not move on must not hold the command
            raise RuntimeError(f"the {service} service gave the cursor {cursor!r} twice "
                               f"for {path}")
        seen.add(cursor)
        answer = one(settings, service, path, **{**params, "cursor": cursor})
        if answer is not None:
            first[field] += answer[field]
    if field and answer is not first:  # shaped as the last page is (a whole one)
        first.pop("next_cursor", None)
        if answer is None or "next_cursor" in answer:
            first["next_cursor"] = None
    return first


def one(settings: Settings, service: str, path: str, **params: str | None) -> Any:
    """One answer of a view (one page of a paged one); None for a 404."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
    url = service_url(settings, service) + urllib.parse.quote(path) + (
        f"?{query}" if query else "")
    request = urllib.request.Request(url, headers=webauth.headers(settings))
    try:
        code, body = exchange(request, timeout=15)
    except (urllib.error.URLError, OSError) as exc:
        raise RuntimeError(f"the {service} service did not answer at {url} "
                           f"({getattr(exc, 'reason', exc)}): is its worker running?") from None
    if code == 404:
        return None
    if code >= 400:
        reason = body.get("error", f"HTTP {code}") if isinstance(body, dict) else f"HTTP {code}"
        raise RuntimeError(f"the {service} service refused {url}: {reason}")
    return body


def exchange(request: urllib.request.Request, timeout: float) -> tuple[int, Any]:
    """A request's HTTP status and its JSON answer, an error's too (an empty error body
    ``{}``, one that is no JSON None). What does not answer raises urllib's URLError (an
    OSError); a success whose body is no JSON, a ValueError."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, None

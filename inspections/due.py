"""What is due, across the services: each service's ``/due`` answer (``kernel.due``) merged
into one list, soonest first, each obligation with the service that owns it and that
service's stream time ("as of"). Used by the operator page and ``inspections due``."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

from runtime import webauth
from runtime.app import web_port
from runtime.settings import Settings

# The services that own obligations (the findings service keeps none: its one rule is judged
# when a finding is recorded).
OWNERS = ("scheduler", "escalation")


def service_url(settings: Settings, service: str) -> str:
    """Where a service's views are asked: its ``INSPECTIONS_<SERVICE>_URL``, else the local
    worker's port."""
    own = getattr(settings, f"{service}_url")
    if own:
        return own.rstrip("/")
    bind = settings.web_host
    return f"http://{'127.0.0.1' if bind in ('0.0.0.0', '') else bind}:{web_port(settings, service)}"


def merge(answers: dict[str, dict]) -> dict:
    """One list from the services' answers: every obligation, soonest first, with its
    ``service``; ``as_of``: each service's stream time."""
    items = [{**item, "service": service} for service, answer in answers.items()
             for item in answer["due"]]
    items.sort(key=lambda i: (datetime.fromisoformat(i["due"]), i["kind"], i["subject_id"]))
    return {"as_of": {service: answer["as_of"] for service, answer in answers.items()},
            "due": items}


def fetch(settings: Settings, **filters: str | None) -> dict:
    """Ask each owner's ``/due`` with the filters (unit, authority, kind, due_within) and
    merge. A RuntimeError that says which service did not answer, or what was refused."""
    query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
    answers = {}
    for service in OWNERS:
        url = f"{service_url(settings, service)}/due" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers=webauth.headers(settings))
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                answers[service] = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            reason = json.loads(exc.read() or b"{}").get("error", f"HTTP {exc.code}")
            raise RuntimeError(f"the {service} service refused {url}: {reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise RuntimeError(f"the {service} service did not answer at {url} "
                               f"({getattr(exc, 'reason', exc)}): is its worker running?") from None
    return merge(answers)


def countdown(seconds: int | None) -> str:
    """``2 d 3 h``, ``5 h 10 min``, ``overdue 1 h 0 min``: for people."""
    if seconds is None:
        return "–"
    sign, seconds = ("overdue " if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    text = f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min"
    return sign + text

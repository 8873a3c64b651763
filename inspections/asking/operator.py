"""Asking the operator page as an account (``inspections queue``, ``inspections act``): its
JSON API with the account's name and password (HTTP Basic), the page's own checks applied."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from inspections.asking.client import exchange
from kernel.vocabulary import SERVICES
from runtime.config.settings import Settings


def port(settings: Settings) -> int:
    """The page's port: after the three services'."""
    return settings.web_port_base + len(SERVICES)


def url(settings: Settings) -> str:
    if settings.operator_url:
        return settings.operator_url.rstrip("/")
    return f"http://{settings.local_web_host}:{port(settings)}"


class Unreachable(RuntimeError):
    """The operator page did not answer: the message says where it was asked."""


def call(settings: Settings, account: str, password: str, path: str,
         body: dict | None = None) -> tuple[int, Any]:
    """The page's status and JSON answer. ``Unreachable`` when it does not answer."""
    target = url(settings) + path
    basic = base64.b64encode(f"{account}:{password}".encode()).decode()
    request = urllib.request.Request(
        target, data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json",
                 "Content-Type": "application/json"})
    try:
        code, answer = exchange(request, timeout=30)
    except (urllib.error.URLError, OSError) as exc:
        raise Unreachable(f"the operator page did not answer at {target} "
                          f"({getattr(exc, 'reason', exc)}): is `inspections operator` "
                          "running? (INSPECTIONS_OPERATOR_URL says where)") from None
    return code, {"error": f"HTTP {code}"} if answer is None else answer


def quoted(text: str) -> str:
    return urllib.parse.quote(text, safe="")

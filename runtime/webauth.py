"""The bearer token that guards every worker's HTTP views and the operator page.

Off when ``INSPECTIONS_HTTP_TOKEN`` is empty. When set, a request passes with
``Authorization: Bearer <token>``, or HTTP Basic with the token as the password (what a
browser sends after its login prompt); any other gets 401. ``/healthz`` and ``/readyz`` stay
open: they are what liveness and readiness probes ask, and say nothing of the campaign.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from runtime.settings import Settings

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
CHALLENGE = 'Bearer realm="inspections", Basic realm="inspections", charset="UTF-8"'


def presented(header: str | None) -> str | None:
    """The token an ``Authorization`` header carries, if any."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password
    return None


def allows(token: str, path: str, header: str | None) -> bool:
    if not token or path in OPEN_PATHS:
        return True
    given = presented(header)
    # Compared in constant time: the answer's timing says nothing of the token.
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def middleware(settings: Settings):
    """An aiohttp middleware enforcing the token (faust's web server is aiohttp too)."""
    from aiohttp import web

    token = settings.http_token.get_secret_value()

    @web.middleware
    async def require_token(request, handler):
        if not allows(token, request.path, request.headers.get("Authorization")):
            return web.json_response({"error": "a bearer token is required"}, status=401,
                                     headers={"WWW-Authenticate": CHALLENGE})
        return await handler(request)

    return require_token


def loopback(host: str) -> bool:
    """Whether an address to bind is this host's alone (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: other hosts may reach it


def open_refusal(settings: Settings, host: str, what: str) -> str | None:
    """Why ``what`` must not start bound to ``host`` (None: it may): an address other hosts
    reach, with no token, and no ``INSPECTIONS_ALLOW_OPEN``."""
    if loopback(host) or settings.http_token.get_secret_value() or settings.allow_open:
        return None
    return (f"{what} would serve on {host or 'every address'} without a token: anyone who "
            "reaches it could read the campaign. Set INSPECTIONS_HTTP_TOKEN, bind a loopback "
            "address (INSPECTIONS_WEB_HOST=127.0.0.1), or say the network is trusted with "
            "INSPECTIONS_ALLOW_OPEN=1")


def headers(settings: Settings) -> dict[str, str]:
    """What a client of these pages sends (the operator page, ``inspections ready``)."""
    token = settings.http_token.get_secret_value()
    return {"Authorization": f"Bearer {token}"} if token else {}

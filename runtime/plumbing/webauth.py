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

from runtime.config.settings import Settings

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
CHALLENGE = 'Bearer realm="inspections", Basic realm="inspections", charset="UTF-8"'


def basic(header: str | None) -> tuple[str, str] | None:
    """The name and password an HTTP Basic ``Authorization`` header carries, if it is one."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return name, password


def presented(header: str | None) -> str | None:
    """The token an ``Authorization`` header carries, if any."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    found = basic(header)
    return None if found is None else found[1]


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


# -- the deployment's members: where a worker passes a caller's credentials on --------------

def origin(url: str) -> tuple[str, str, int] | None:
    """A URL's scheme, host (lower case; an IP address in its one spelling) and port; None
    for what is no http(s) URL."""
    import ipaddress

    from yarl import URL

    try:
        parsed = URL(url)
        host, port = parsed.host, parsed.port
    except (ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not host or port is None:
        return None
    try:
        host = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        host = host.lower().rstrip(".")
    return parsed.scheme, host, port


def peer_urls(listed: str) -> list[str]:
    """``INSPECTIONS_WEB_PEERS``: comma-separated base URLs."""
    return [u.strip() for u in listed.split(",") if u.strip()]


class Peers:
    """Who is a member of this deployment: the workers a worker may ask in a caller's stead,
    with the caller's credentials. This worker's own advertised URL; and each of
    ``INSPECTIONS_WEB_PEERS`` by scheme, host and port, a host name standing for every
    address it resolves to (compose's service names: every replica's address); with none
    listed, loopback hosts on any port (one host's deployment). Anything else the group's
    metadata advertises (a worker that joined the group with a URL of its choosing) is not
    asked at all."""

    def __init__(self, settings: Settings, own: str) -> None:
        self.own = origin(own)
        self.listed = [o for o in map(origin, peer_urls(settings.web_peers)) if o]

    async def admits(self, url: str) -> bool:
        target = origin(str(url))
        if target is None:
            return False
        if target == self.own:
            return True
        if not self.listed:
            return loopback(target[1])
        for scheme, host, port in self.listed:
            if (scheme, port) != (target[0], target[2]):
                continue
            if host == target[1] or target[1] in await _addresses(host, port):
                return True
        return False


async def _addresses(host: str, port: int) -> set[str]:
    """The addresses a peer's host name resolves to now (a scaled service's replicas come
    and go): asked on each check, no cache."""
    import asyncio
    import ipaddress
    import socket

    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    out = set()
    for *_, address in found:
        try:
            out.add(str(ipaddress.ip_address(address[0].split("%", 1)[0])))
        except ValueError:
            continue
    return out

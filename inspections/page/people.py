"""Who is asking the operator page: signing in and out, and the door every request passes.

With accounts (``inspections accounts``), a person signs in (``/signin``) and gets a session
cookie (HttpOnly, SameSite=Strict, Secure under TLS); a program signs in per request with
HTTP Basic and an account's name and password (``inspections queue``, ``inspections act``); a
reverse proxy that signed someone in may name the account in ``INSPECTIONS_TRUSTED_HEADER``,
believed from ``INSPECTIONS_TRUSTED_PROXY`` alone. The deployment's token
(``INSPECTIONS_HTTP_TOKEN``) still admits machine clients: they read everything and act on
nothing. Without accounts the page is what it was: read-only, behind the token when one is set.

Every request carries its principal in ``request["who"]``: an ``Account`` or a ``Machine``
(``inspections.accounts.roles``); the handlers scope what they show by it.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from urllib.parse import quote

from inspections.accounts.roles import EVERYONE, Account, Machine
from inspections.accounts.sessions import COOKIE, Attempts, Session, Sessions
from inspections.accounts.store import Accounts
from runtime.config.settings import Settings
from runtime.plumbing import logs, webauth

OPEN_PATHS = webauth.OPEN_PATHS | {"/signin"}
# Pages of the whole city (every unit together): an account of one unit is refused them.
WHOLE_CITY = ("/rejected", "/assessments/", "/campaigns/", "/ledger")
SIGNIN_COOKIE = "inspections_signin"  # the sign-in form's nonce, before any session
MACHINE = Machine()


class Door:
    """The accounts, sessions and sign-in limits of one page process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.accounts = Accounts.of(settings)
        self.sessions = Sessions(settings.session_secret.get_secret_value(),
                                 settings.session_hours)
        self.attempts = Attempts(settings.signin_attempts)
        self.token = settings.http_token.get_secret_value()
        self.revoked: OrderedDict[str, None] = OrderedDict()  # signed-out nonces
        self.log = logs.get("inspections.page.access")

    def session_of(self, request) -> tuple[Account, Session] | None:
        """The request's session, read from its cookie once (the door, the page's forms and
        their checks all ask)."""
        if "session" not in request:
            found = self.sessions.read(request.cookies.get(COOKIE), self.accounts)
            request["session"] = None if found is None or found[1].nonce in self.revoked \
                else found
        return request["session"]

    async def verify(self, name: str, password: str) -> Account | None:
        """argon2 takes tens of milliseconds: in a thread, not on the page's event loop."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(
            None, self.accounts.verify, name, password)

    async def basic_account(self, request, header: str) -> Account | Machine | None:
        """An account's name and password, or the token as the password (a browser's
        prompt, as before accounts), in HTTP Basic."""
        found = webauth.basic(header)
        if found is None:
            return None
        name, password = found
        if self.token and hmac.compare_digest(password.encode(), self.token.encode()):
            return MACHINE
        if not self.accounts or not name:
            return None
        keys = (f"name:{name[:64]}", f"address:{request.remote}")
        if self.attempts.wait_s(*keys):
            return None
        account = await self.verify(name, password)
        if account is None:
            self.attempts.failed(*keys)
            self.log.warning("sign-in refused", account=name[:64], address=request.remote,
                             how="basic")
        return account

    async def identify(self, request) -> tuple[Account | Machine | None, str]:
        """Who asks, and how they said so: ``token``, ``basic``, ``header`` (the proxy's) or
        ``cookie``."""
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            given = header[7:].strip()
            ok = self.token and hmac.compare_digest(given.encode(), self.token.encode())
            return (MACHINE if ok else None), "token"
        if header[:6].lower() == "basic ":
            return await self.basic_account(request, header), "basic"
        s = self.settings
        if s.trusted_header and request.remote == s.trusted_proxy.strip():
            named = request.headers.get(s.trusted_header, "").strip()
            if named:
                return self.accounts.get(named), "header"
        found = self.session_of(request)
        return (None if found is None else found[0]), "cookie"

    def form_token(self, request) -> str:
        found = self.session_of(request)
        return "" if found is None else self.sessions.form_token(found[1])

    def form_ok(self, request, token: str | None) -> bool:
        """Whether a request that changes something came from this page: with a session, its
        form token; a program signed in per request (HTTP Basic) has no session and needs
        none, unless a browser sent it from another site (its ``Origin`` or
        ``Sec-Fetch-Site`` says so: a browser replays Basic credentials on its own)."""
        found = self.session_of(request)
        if found is not None:
            return self.sessions.form_token_ok(found[1], token)
        if request.get("how") != "basic":
            return False  # the proxy's header: its person has a session of the page's too
        origin = request.headers.get("Origin")
        if origin is not None and origin not in (f"http://{request.host}",
                                                 f"https://{request.host}"):
            return False
        return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def wants_page(request) -> bool:
    return not (request.path.endswith(".json") or request.path.startswith("/api/")
                or "application/json" in request.headers.get("Accept", ""))


def middleware(door: Door):
    from aiohttp import web

    @web.middleware
    async def who(request, handler):
        if request.path in OPEN_PATHS:
            request["who"] = None
            return await handler(request)
        principal, how = await door.identify(request)
        request["how"] = how
        if principal is None and not door.accounts and not door.token:
            principal = EVERYONE  # no accounts, no token: the page is open, read-only
        if principal is None:
            if door.accounts and wants_page(request) and request.method == "GET":
                raise web.HTTPSeeOther("/signin?next=" + quote(str(request.rel_url),
                                                               safe=""))
            return web.json_response(
                {"error": "sign in: an account's name and password (HTTP Basic), or the "
                          "deployment's token"}, status=401,
                headers={"WWW-Authenticate": webauth.CHALLENGE})
        if not principal.reads:
            return web.json_response(
                {"error": f"{principal.name} is an upstream system's account: it publishes "
                          "events to the ingestion server and reads no page"}, status=403)
        request["who"] = principal
        if not principal.sees_all and request.path.startswith(WHOLE_CITY):
            reason = (f"this page covers every unit; {principal.label()} covers "
                      f"{', '.join(principal.units)} only")
            if not wants_page(request):
                return web.json_response({"error": reason}, status=403)
            raise web.HTTPForbidden(text=reason)
        if not principal.sees_all and request.path == "/":
            raise web.HTTPSeeOther("/queue")
        if how == "header" and isinstance(principal, Account) \
                and door.session_of(request) is None:
            # Signed in by the proxy: a session of the page's own too, for its forms' tokens.
            cookie = door.sessions.issue(principal)
            request["session"] = door.sessions.read(cookie, door.accounts)
            response = await handler(request)
            response.set_cookie(COOKIE, cookie, max_age=door.sessions.max_age, httponly=True,
                                samesite="Strict", secure=request.secure, path="/")
            return response
        return await handler(request)

    return who


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this page only."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or len(target) > 2000:
        return "/"
    return target


def routes(page, door: Door):
    import secrets

    from aiohttp import web

    def cookie_options(request) -> dict:
        return {"httponly": True, "samesite": "Strict", "secure": request.secure, "path": "/"}

    async def signin_form(request: web.Request, status: int = 200, reason: str = "",
                          headers: dict | None = None) -> web.Response:
        nonce = request.cookies.get(SIGNIN_COOKIE) or secrets.token_hex(16)
        response = await page(request, "signin.html", status=status, reason=reason,
                              next=safe_next(request.query.get("next")),
                              accounts=bool(door.accounts),
                              signin_token=door.sessions.form_token(Session("", nonce)))
        response.set_cookie(SIGNIN_COOKIE, nonce, max_age=3600, **cookie_options(request))
        response.headers.update(headers or {})
        return response

    async def signin_page(request: web.Request) -> web.Response:
        return await signin_form(request)

    async def signin(request: web.Request) -> web.Response:
        form = await request.post()
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))
        nonce = request.cookies.get(SIGNIN_COOKIE, "")
        if not nonce or not door.sessions.form_token_ok(Session("", nonce),
                                                        str(form.get("token", ""))):
            return await signin_form(request, status=400, reason=(
                "the sign-in form had expired or came from elsewhere: try again"))
        keys = (f"name:{name}", f"address:{request.remote}")
        wait = door.attempts.wait_s(*keys)
        if wait:
            door.log.warning("sign-in refused", account=name, address=request.remote,
                             why="too many failures")
            return await signin_form(request, status=429, reason=(
                f"too many failed sign-ins: try again in {int(wait // 60) + 1} min"),
                headers={"Retry-After": str(int(wait) + 1)})
        account = await door.verify(name, password)
        if account is not None and not account.reads:
            account = None  # an upstream system's account signs in to no page
        if account is None:
            door.attempts.failed(*keys)
            door.log.warning("sign-in refused", account=name, address=request.remote)
            return await signin_form(request, status=401,
                                     reason="账号或密码错误 the name or the password is wrong")
        door.attempts.succeeded(keys[0])
        door.log.info("signed in", account=account.name, address=request.remote)
        response = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
        response.set_cookie(COOKIE, door.sessions.issue(account),
                            max_age=door.sessions.max_age, **cookie_options(request))
        response.del_cookie(SIGNIN_COOKIE, path="/")
        raise response

    async def signout(request: web.Request) -> web.Response:
        form = await request.post()
        found = door.session_of(request)
        if found is not None:
            if not door.sessions.form_token_ok(found[1], str(form.get("csrf", ""))):
                raise web.HTTPForbidden(text="the form's token is missing or wrong")
            door.revoked[found[1].nonce] = None
            while len(door.revoked) > 100_000:
                door.revoked.popitem(last=False)
            door.log.info("signed out", account=found[0].name, address=request.remote)
        response = web.HTTPSeeOther("/signin")
        response.del_cookie(COOKIE, path="/")
        raise response

    return [("GET", "/signin", signin_page), ("POST", "/signin", signin),
            ("POST", "/signout", signout)]

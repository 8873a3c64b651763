"""``inspections ingest``: upstream systems that cannot speak Kafka publish over HTTP.

``POST /events`` takes one event or a batch in the CloudEvents HTTP binding (``binding``),
judges each by the same gate as the services, and publishes the ones it accepts to
``inspections.events`` keyed by their subject (a ``clock.ticked`` or ``policy.adopted`` to
every partition), with an idempotent ``acks=all`` producer; it answers once the broker has
acknowledged them. Each
publisher signs in with its account (role ``publisher``: HTTP Basic, its name and secret) and
may publish the event types its account names, for the units it names (or any). An event id
published once is not published again (the services apply an id once anyway). Every
publication and refusal is logged with the account.

Answers (the OpenAPI document, ``schemas/openapi.yaml``, says the same): ``202`` every event
published (or published before), ``207`` some published and some refused, ``400`` none
published and the gate refused some, ``403`` none published and none the publisher's to
publish; each event's own status, id, and the gate's cause and reason or its partition and
offset in ``events``. ``401`` without a publisher's credentials, ``413`` past
``INSPECTIONS_INGEST_MAX_BYTES`` or 1,000 events, ``415`` no event binding, ``429`` after
too many failed sign-ins, ``503`` the broker did not take them (nothing refused: send again).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from pathlib import Path

import schemas
from inspections.accounts.roles import Account
from inspections.accounts.sessions import Attempts
from inspections.accounts.store import Accounts
from inspections.ingest.binding import Unreadable, events_of
from inspections.upstream.publish import Acknowledged
from kernel.vocabulary import BROADCAST, SERVICES
from runtime.config.settings import Settings
from runtime.plumbing import logs, webauth
from runtime.plumbing.http import access_log, sent_within, server_options
from schemas import Rejection, decode
from schemas.events import UnitEvent

KEPT = 100_000  # event ids remembered as published
VERIFIED_S = 300.0  # a publisher's verified secret is trusted this long (argon2 is slow)
OPENAPI = Path(schemas.__file__).resolve().parent / "openapi.yaml"
CHALLENGE = 'Basic realm="inspections ingest", charset="UTF-8"'


def port(settings: Settings) -> int:
    """Its port: ``INSPECTIONS_INGEST_PORT``, else after the page's and the all-in-one worker's."""
    return settings.ingest_port or settings.web_port_base + len(SERVICES) + 2


class Publishers:
    """Publishers' credentials: HTTP Basic against the accounts file, a verified secret kept
    a few minutes (hashed) so that a busy publisher does not pay argon2 on every request."""

    def __init__(self, settings: Settings) -> None:
        self.accounts = Accounts.of(settings)
        self.attempts = Attempts(settings.signin_attempts)
        self.verified: dict[tuple[str, str], float] = {}

    async def sign_in(self, header: str, address: str) -> Account | int:
        """The publisher's account, or the status refusing it (401, 429)."""
        found = webauth.basic(header)
        if found is None:
            return 401
        name, secret = found
        mark = (name, hashlib.sha256(secret.encode()).hexdigest())
        account = self.accounts.get(name)
        if account is not None and self.verified.get(mark, 0) > time.monotonic():
            return account if account.role == "publisher" else 401
        keys = (f"name:{name[:64]}", f"address:{address}")
        if self.attempts.wait_s(*keys):
            return 429
        account = await asyncio.get_running_loop().run_in_executor(
            None, self.accounts.verify, name, secret)  # argon2: not on the event loop
        if account is None or account.role != "publisher":
            self.attempts.failed(*keys)
            return 401
        if len(self.verified) > 10_000:
            self.verified.clear()
        self.verified[mark] = time.monotonic() + VERIFIED_S
        return account


def _id_of(raw: bytes) -> str | None:
    try:
        found = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    ident = found.get("id") if isinstance(found, dict) else None
    return ident[:128] if isinstance(ident, str) else None


def status_of(results: list[dict]) -> int:
    accepted = sum(r["status"] == 202 for r in results)
    if accepted == len(results):
        return 202
    if accepted:
        return 207
    return 400 if any(r["status"] == 400 for r in results) else 403


def create_app(settings: Settings):
    from aiohttp import web

    publishers = Publishers(settings)
    sender = Acknowledged(settings, client_id="inspections-ingest")
    published: OrderedDict[str, tuple[int, int]] = OrderedDict()
    lock = asyncio.Lock()
    log = logs.get("inspections.ingest")

    def judged(who: Account, carried) -> tuple[dict, tuple | None]:
        """An event's result so far, and what to send (None: nothing)."""
        checked = decode(carried.raw)
        if isinstance(checked, Rejection):
            return {"index": carried.index, "id": _id_of(carried.raw), "status": 400,
                    "cause": checked.cause, "reason": checked.reason}, None
        unit = checked.subject if isinstance(checked, UnitEvent) else None
        why = who.publishes(checked.type, unit)
        if why is not None:
            return {"index": carried.index, "id": checked.id, "status": 403,
                    "reason": why}, None
        key = None if checked.type in BROADCAST else checked.subject
        return {"index": carried.index, "id": checked.id, "status": 202,
                "type": checked.type}, (checked.type, carried.raw, key)

    async def post_events(request: web.Request) -> web.Response:
        who = await publishers.sign_in(request.headers.get("Authorization", ""),
                                       request.remote)
        if who == 429:
            return web.json_response({"error": "too many failed sign-ins: try again later"},
                                     status=429, headers={"Retry-After": "60"})
        if not isinstance(who, Account):
            return web.json_response(
                {"error": "a publisher's account is required: HTTP Basic with its name and "
                          "secret (`inspections accounts add NAME --role publisher --type ...`)"},
                status=401, headers={"WWW-Authenticate": CHALLENGE})
        try:
            carried = events_of(await request.read(), request.headers)
        except Unreadable as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        results, sending = [], []
        async with lock:
            batch: dict[str, int] = {}
            for item in carried:
                result, send = judged(who, item)
                results.append(result)
                if send is None:
                    continue
                if result["id"] in published or result["id"] in batch:
                    result["duplicate"] = True
                    continue
                batch[result["id"]] = len(sending)
                sending.append((result, send))
            if sending:
                try:
                    places = await asyncio.get_running_loop().run_in_executor(
                        None, sender.send, [s for _, s in sending])
                except Exception as exc:  # the broker did not take them: nothing to keep
                    log.warning("not published over HTTP", account=who.name,
                                events=len(sending), error=str(exc)[:300])
                    return web.json_response(
                        {"error": f"the broker did not take the events ({exc}); send them "
                                  "again (an event id is published once)"}, status=503)
                for (result, _), (partition, offset) in zip(sending, places):
                    result.update(partition=partition, offset=offset)
                    published[result["id"]] = (partition, offset)
                while len(published) > KEPT:
                    published.popitem(last=False)
        for r in results:
            if r["status"] == 202 and "partition" in r:
                log.info("published over HTTP", account=who.name, event_id=r["id"],
                         event_type=r["type"], partition=r["partition"], offset=r["offset"])
            elif r["status"] != 202:
                log.warning("refused over HTTP", account=who.name, index=r["index"],
                            event_id=r["id"], status=r["status"], cause=r.get("cause"),
                            reason=r["reason"][:300])
        answer = {"accepted": sum(r["status"] == 202 for r in results),
                  "refused": sum(r["status"] != 202 for r in results), "events": results}
        return web.json_response(answer, status=status_of(results))

    async def openapi(request: web.Request) -> web.Response:
        import yaml

        return web.json_response(yaml.safe_load(OPENAPI.read_text(encoding="utf-8")))

    async def alive(request: web.Request) -> web.Response:
        return web.json_response({"service": "ingest", "status": "alive"})

    @web.middleware
    async def too_large(request, handler):
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response(
                {"error": f"a request takes at most {settings.ingest_max_bytes} bytes "
                          "(INSPECTIONS_INGEST_MAX_BYTES): send the batch in parts"},
                status=413)

    async def on_cleanup(app) -> None:
        await asyncio.get_running_loop().run_in_executor(None, sender.close)

    options = server_options()
    options["client_max_size"] = settings.ingest_max_bytes
    app = web.Application(middlewares=[sent_within(), too_large], **options)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/events", post_events)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/healthz", alive)
    return app


def serve(settings: Settings) -> None:
    import logging

    from aiohttp import web

    logs.configure("ingest", settings.log_level, settings.log_format)
    publishers = [a.name for a in Accounts.of(settings).all().values()
                  if a.role == "publisher"]
    logs.get(__name__).info("ingestion over HTTP",
                            url=f"http://{settings.local_web_host}:{port(settings)}/events",
                            publishers=publishers)
    if not publishers:
        logs.get(__name__).warning(
            "no publisher accounts: every POST /events is refused until one is added "
            "(`inspections accounts add NAME --role publisher --type TYPE`)")
    web.run_app(create_app(settings), host=settings.web_host, port=port(settings),
                print=None, access_log=logging.getLogger("inspections.ingest.access"),
                access_log_class=access_log("inspections.ingest.access"))

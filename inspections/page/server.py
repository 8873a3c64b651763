"""The operator page: a read-only web page over the services' views and two topics.

It holds no rule and no state of its own: each request reads the scheduler's campaign views,
the findings service's problem lists, the escalation register and what is due over HTTP; the
breaches and the rejected records come from their topics (``sources``). Pages are
Jinja2 templates with autoescaping on: text that came from an event is always shown as text.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from inspections.accounts.roles import ACTIONS, ROLES
from inspections.asking import operator
from inspections.asking.due import countdown, merged_page
from inspections.page import aftercare as page_aftercare
from inspections.page import assessment as page_assessment
from inspections.page import actions as page_actions
from inspections.page import details as page_details
from inspections.page import people, pictures
from inspections.page import queue as page_queue
from inspections.page import rejected as page_rejected
from inspections.page.board import board, rejected_board
from inspections.page.sources import (
    Computing,
    Refused,
    Unavailable,
    Views,
    breaches,
    rejections,
)
from kernel.dates import end_of_day
from kernel.due import OWNERS, Wanted, merge
from kernel.paging import paged, paged_due
from kernel.vocabulary import (
    AUTHORITIES,
    CATEGORIES,
    CHECK_METHODS,
    LEDGER_STATES,
    OBLIGATION_KINDS,
    UNIT_KINDS,
    VISIT_STATES,
)
from runtime.config import topics
from schemas import catalogue
from runtime.config.settings import Settings
from runtime.plumbing import logs, webauth
from runtime.plumbing.http import access_log, sent_within, server_options
from runtime.replay_runner.as_of import parse_as_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The page runs no script, frames nothing and is framed by nothing, sends no referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
KINDS = UNIT_KINDS
NOTHING_DUE = {"as_of": None, "due": []}  # an owner whose /due is not found (no such view)


port = operator.port  # the page's port: after the three services'


def host(settings: Settings) -> str:
    return settings.local_web_host


def templates():
    """The pages' Jinja2 templates, every value escaped as it is written into HTML."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]))
    env.globals.update(AUTHORITIES=AUTHORITIES, KINDS=KINDS, CATEGORIES=CATEGORIES,
                       VISIT_STATES=VISIT_STATES, OBLIGATION_KINDS=OBLIGATION_KINDS,
                       ACTIONS=ACTIONS, ROLES=ROLES, LEDGER_STATES=LEDGER_STATES,
                       CHECK_METHODS=CHECK_METHODS)
    env.filters["countdown"] = countdown
    env.filters["sector"] = catalogue.sector_name
    env.filters["aspect"] = catalogue.aspect_name
    env.filters["item"] = catalogue.item_name
    env.filters["seg"] = page_details.seg
    return env


def past_time(text: str, timezone: str) -> datetime:
    """A past the page is asked for: a day (``2026-07-01``: the board at its end, the next
    midnight in the campaign's time zone), or a time with its offset. A ValueError says what
    is wrong."""
    try:
        if len(text) == 10:
            return end_of_day(date.fromisoformat(text), ZoneInfo(timezone))
        return parse_as_of(text)
    except ValueError as exc:
        if "offset" in str(exc):
            raise
        raise ValueError(f"as_of must be a day such as 2026-07-01 or a time with its "
                         f"offset; got {text[:60]!r}") from None


def create_app(settings: Settings):
    """The aiohttp application (built when called)."""
    import aiohttp
    from aiohttp import web

    env = templates()
    views = Views(settings)
    breach_log, rejected_log = breaches(settings), rejections(settings)
    log = logs.get(__name__)
    door = people.Door(settings)
    acting = page_actions.Acting(settings, views, door, rejected_log)

    async def page(request: web.Request, name: str, status: int = 200,
                   **context) -> web.Response:
        """A page, with each service's stream time ("as of") and the refresh interval; a
        page of the past (``?as_of=``) says so, and is not reloaded."""
        past = context.pop("past", None)
        if past is None:
            times = await views.stream_times(request.app["session"])
            refresh = context.pop("refresh", settings.page_refresh_s)
        else:
            times, refresh = {}, context.pop("refresh", None)
        text = env.get_template(name).render(stream_times=times, refresh=refresh, past=past,
                                             who=request.get("who"),
                                             csrf=door.form_token(request),
                                             request_path=request.rel_url.raw_path,
                                             day_asked=request.query.get("as_of", "")[:10],
                                             **context)
        return web.Response(text=text, status=status, content_type="text/html",
                            charset="utf-8")

    def next_page(request: web.Request, cursor: str | None) -> str | None:
        """This page's address with the next page's cursor (its filters kept)."""
        return None if cursor is None else str(request.rel_url.update_query(cursor=cursor))

    async def on_startup(app) -> None:
        app["session"] = aiohttp.ClientSession(headers=webauth.headers(settings))
        breach_log.start()
        rejected_log.start()

    async def on_cleanup(app) -> None:
        breach_log.stop()
        rejected_log.stop()
        await asyncio.get_running_loop().run_in_executor(None, acting.close)
        await app["session"].close()

    def past_of(request: web.Request) -> datetime | None:
        """The past the page is asked for (``as_of``: a day, its end in the campaign's time
        zone, or a time with its offset); None: now. A Refused names a bad one."""
        text = request.query.get("as_of", "").strip()
        if not text:
            return None
        try:
            return past_time(text, settings.timezone)
        except ValueError as exc:
            raise Refused(str(exc)) from None

    def breaches_by(past: datetime | None) -> list[dict]:
        """The breaches the page keeps; of a past, those dated by then."""
        kept = breach_log.all()
        return kept if past is None else [
            b for b in kept if datetime.fromisoformat(b["time"]) <= past]

    async def computing(request: web.Request, past: datetime, exc: Computing):
        """A page of the past the services are still computing: how far, reloaded."""
        return await page(request, "computing.html", status=202, past=past, refresh=1,
                          progress=exc.progress)

    async def board_page(request: web.Request) -> web.Response:
        """The board shows everything it counts: each list it reads followed page by page;
        ``as_of`` (a day or a time), the board as it was then."""
        session = request.app["session"]
        try:
            past = past_of(request)
            when = {} if past is None else {"as_of": past.isoformat()}
            listed = await views.get(session, "scheduler", "/campaigns", **when) or {
                "campaigns": []}
            ids = [c["campaign_id"] for c in listed["campaigns"]]
            wanted = request.query.get("campaign") or (ids[0] if ids else None)
            campaign = (await views.every(session, "scheduler",
                                          f"/campaigns/{page_details.seg(wanted)}", "units",
                                          **when)
                        if wanted else None)
            register = await views.every(session, "escalation", "/escalations",
                                         "escalations", **when) or {"escalations": []}
            soon = await due_whole(session, due_within=settings.due_soon_within, **when)
        except Refused as exc:
            return await page(request, "refused.html", status=400, reason=str(exc))
        except Computing as exc:
            return await computing(request, past, exc)
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        breaches = breaches_by(past)
        filters = {f: request.query.get(f, "") for f in ("kind", "unit_id", "service")}
        pictured = {} if campaign is None else {
            "coverage_steps": pictures.coverage_steps(campaign),
            "coverage_bars": pictures.coverage_bars(campaign)}
        return await page(request, "board.html", campaigns=ids, past=past,
                          due_soon_within=settings.due_soon_within,
                          rejected=rejected_board(rejected_log.all(), rejected_log.dropped),
                          **pictured,
                          **board(campaign, register["escalations"], breaches,
                                  filters, soon["due"]))

    async def due_whole(session, **filters) -> dict:
        return merge({s: await views.every(session, s, "/due", "due", **filters) or NOTHING_DUE
                      for s in OWNERS})

    async def due_some(session, filters: dict, limit: str, cursor: str) -> dict:
        """A page of the merged list: each owner asked for its page after the cursor."""
        return merged_page({s: await views.get(session, s, "/due", **filters, limit=limit,
                                               cursor=cursor) or NOTHING_DUE
                            for s in OWNERS}, limit)

    def due_filters(request: web.Request) -> tuple[dict[str, str], str, str]:
        """The filters asked for, and the page (limit, cursor); a Refused naming a bad one
        before any service is asked."""
        wanted = {f: request.query.get(f, "") for f in ("unit", "authority", "kind",
                                                         "due_within")}
        who = request["who"]
        if not who.sees_all:  # one unit's account: its unit's alone
            if wanted["unit"] and not who.sees(wanted["unit"]):
                raise Refused(f"{who.label()} covers {', '.join(who.units)} only")
            wanted["unit"] = who.units[0]
        limit, cursor = request.query.get("limit", ""), request.query.get("cursor", "")
        try:
            Wanted.of(**{k: v or None for k, v in wanted.items()})
            paged_due([], limit, cursor)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        return wanted, limit, cursor

    async def due_page(request: web.Request) -> web.Response:
        try:
            filters, limit, cursor = due_filters(request)
            found = await due_some(request.app["session"], filters, limit, cursor)
        except Refused as exc:
            return await page(request, "refused.html", status=400, reason=str(exc), retry="/due")
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        return await page(request, "due.html", filters=filters,
                          next_href=next_page(request, found.get("next_cursor")), **found)

    async def due_json(request: web.Request) -> web.Response:
        try:
            filters, limit, cursor = due_filters(request)
            found = await due_some(request.app["session"], filters, limit, cursor)
        except Refused as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Unavailable as exc:
            return web.json_response({"error": str(exc)}, status=503)
        return web.json_response(found)

    async def unit_page(request: web.Request) -> web.Response:
        session = request.app["session"]
        unit_id = request.match_info["unit_id"]
        category = request.query.get("category", "")
        if not request["who"].sees(unit_id):
            return await page(request, "unavailable.html", status=404,
                              reason=f"no unit {unit_id} in the views")
        try:
            past = past_of(request)
            when = {} if past is None else {"as_of": past.isoformat()}
            s = page_details.seg(unit_id)
            unit = await views.get(session, "scheduler", f"/units/{s}", **when)
            findings = await views.every(session, "findings", f"/units/{s}/findings",
                                         "findings", category=category, **when)
            escalations = await views.every(session, "escalation", f"/units/{s}/escalations",
                                            "escalations", **when)
        except Refused as exc:
            return await page(request, "refused.html", status=400, reason=str(exc))
        except Computing as exc:
            return await computing(request, past, exc)
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if unit is None and findings is None:
            return await page(request, "unavailable.html", status=404, reason=f"no unit {unit_id} in the views")
        return await page(request, "unit.html", unit_id=unit_id, unit=unit, category=category,
                          past=past, findings=(findings or {}).get("findings", []),
                          escalations=(escalations or {}).get("escalations", []),
                          breaches=[b for b in breaches_by(past) if b["unit_id"] == unit_id])

    async def breaches_json(request: web.Request) -> web.Response:
        try:
            seen = [b for b in breach_log.all() if request["who"].sees(b["unit_id"])]
            page, after = paged(seen, lambda b: f"{b['time']}|{b['id']}",
                                request.query.get("limit"), request.query.get("cursor"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"breaches": page, "next_cursor": after})

    async def policy_page(request: web.Request) -> web.Response:
        """The city's policy as the services run it (each asked: they should agree), with the
        history of the policies the log adopted."""
        session = request.app["session"]
        try:
            running = {service: await views.get(session, service, "/policy")
                       for service in ("escalation", "scheduler")}
        except (Unavailable, Refused) as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        shown = running["escalation"] or running["scheduler"]
        if shown is None:
            return await page(request, "unavailable.html", status=503,
                              reason="no service says its policy")
        differ = bool(running["escalation"] and running["scheduler"]) and \
            running["escalation"].get("digest") != running["scheduler"].get("digest")
        return await page(request, "policy.html", p=shown, differ=differ, running=running)

    async def alive(request: web.Request) -> web.Response:
        return web.json_response({"service": "operator", "status": "alive"})

    def failed(request: web.Request, status: int, reason: str) -> web.Response:
        """An answer for what a handler let through (rendered without asking any service)."""
        if request.path.endswith(".json"):
            return web.json_response({"error": reason}, status=status)
        name = "refused.html" if status == 400 else "unavailable.html"
        return web.Response(text=env.get_template(name).render(reason=reason), status=status,
                            content_type="text/html", charset="utf-8")

    @web.middleware
    async def secure(request, handler):
        """The security headers on every answer: errors, redirects, 404 and 405 too; and
        never a traceback, whatever a handler raised."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and errors carry them too
            exc.headers.update(SECURITY_HEADERS)
            raise
        except Refused as exc:
            response = failed(request, 400, str(exc))
        except Unavailable as exc:
            response = failed(request, 503, str(exc))
        except Exception:
            log.exception("the operator page failed to answer", path=request.path[:200])
            response = failed(request, 500, "the page could not answer this; its log says why")
        response.headers.update(SECURITY_HEADERS)
        return response

    app = web.Application(middlewares=[sent_within(), secure, people.middleware(door)],
                          **server_options())
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", board_page)
    app.router.add_get("/units/{unit_id}", unit_page)
    app.router.add_get("/breaches.json", breaches_json)
    app.router.add_get("/due", due_page)
    app.router.add_get("/due.json", due_json)
    for path, handler in page_rejected.routes(page, next_page, rejected_log):
        app.router.add_get(path, handler)
    for path, handler in page_assessment.routes(page, next_page, settings):
        app.router.add_get(path, handler)
    app.router.add_get("/policy", policy_page)
    for path, handler in page_details.routes(page, views, breach_log):
        app.router.add_get(path, handler)
    for method, path, handler in (*people.routes(page, door),
                                  *page_queue.routes(page, due_whole),
                                  *page_actions.routes(page, acting,
                                                       topics.name(settings, topics.EVENTS)),
                                  *page_aftercare.routes(page, views, acting, settings)):
        app.router.add_route(method, path, handler)
    app.router.add_get("/healthz", alive)
    return app


def serve(settings: Settings) -> None:
    import logging

    from aiohttp import web

    from inspections.accounts.store import Accounts

    logs.configure("operator", settings.log_level, settings.log_format)
    # People sign in with accounts (a bad accounts file stops it here); without any, the
    # token is what guards it.
    refused = None if Accounts.of(settings) else webauth.open_refusal(
        settings, settings.web_host, "the operator page")
    if refused:
        raise SystemExit(f"error: {refused}")
    logs.get(__name__).info("operator page", url=f"http://{host(settings)}:{port(settings)}/")
    web.run_app(create_app(settings), host=settings.web_host, port=port(settings),
                print=None, access_log=logging.getLogger("inspections.page.access"),
                access_log_class=access_log("inspections.page.access"))

"""The operator page: a read-only web page over the services' views and two topics.

It holds no rule and no state of its own: each request reads the scheduler's campaign views,
the findings service's problem lists, the escalation register and what is due over HTTP; the
breaches and the rejected records come from their topics (``page_sources``). Pages are
Jinja2 templates with autoescaping on: text that came from an event is always shown as text.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from inspections import page_details, pictures
from inspections.due import OWNERS, countdown, merge
from inspections.page_board import board, rejected_board
from inspections.page_sources import Refused, Unavailable, Views, breaches, rejections
from kernel.due import Wanted
from kernel.vocabulary import (
    AUTHORITIES,
    BREACH_KINDS,
    CATEGORIES,
    OBLIGATION_KINDS,
    SERVICES,
    UNIT_KINDS,
    VISIT_STATES,
)
from runtime import logs, webauth
from runtime.http import MAX_PAGE, paged
from runtime.settings import Settings
from schemas.gate import CAUSES

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The page runs no script, frames nothing and is framed by nothing, sends no referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
DOWNLOADS = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

KINDS = UNIT_KINDS


def port(settings: Settings) -> int:
    """The page's port: after the three services'."""
    return settings.web_port_base + len(SERVICES)


def host(settings: Settings) -> str:
    return "127.0.0.1" if settings.web_host in ("0.0.0.0", "") else settings.web_host


def templates():
    """The pages' Jinja2 templates, every value escaped as it is written into HTML."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]))
    env.globals.update(AUTHORITIES=AUTHORITIES, KINDS=KINDS, CATEGORIES=CATEGORIES,
                       VISIT_STATES=VISIT_STATES, OBLIGATION_KINDS=OBLIGATION_KINDS)
    env.filters["countdown"] = countdown
    env.filters["seg"] = page_details.seg
    return env


def create_app(settings: Settings):
    """The aiohttp application (built when called)."""
    import aiohttp
    from aiohttp import web

    env = templates()
    views = Views(settings)
    breach_log, rejected_log = breaches(settings), rejections(settings)

    async def page(request: web.Request, name: str, status: int = 200,
                   **context) -> web.Response:
        """A page, with each service's stream time ("as of") and the refresh interval."""
        times = await views.stream_times(request.app["session"])
        text = env.get_template(name).render(stream_times=times,
                                             refresh=settings.page_refresh_s, **context)
        return web.Response(text=text, status=status, content_type="text/html",
                            charset="utf-8")

    async def on_startup(app) -> None:
        app["session"] = aiohttp.ClientSession(headers=webauth.headers(settings))
        breach_log.start()
        rejected_log.start()

    async def on_cleanup(app) -> None:
        breach_log.stop()
        rejected_log.stop()
        await app["session"].close()

    async def board_page(request: web.Request) -> web.Response:
        session = request.app["session"]
        try:
            listed = await views.get(session, "scheduler", "/campaigns") or {"campaigns": []}
            ids = [c["campaign_id"] for c in listed["campaigns"]]
            wanted = request.query.get("campaign") or (ids[0] if ids else None)
            campaign = (await views.get(session, "scheduler",
                                        f"/campaigns/{page_details.seg(wanted)}")
                        if wanted else None)
            register = await views.get(session, "escalation", "/escalations",
                                       limit=str(MAX_PAGE))
            soon = await due(session, due_within=settings.due_soon_within)
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        filters = {f: request.query.get(f, "") for f in ("kind", "unit_id", "service")}
        pictured = {} if campaign is None else {
            "coverage_steps": pictures.coverage_steps(campaign),
            "coverage_bars": pictures.coverage_bars(campaign)}
        return await page(request, "board.html", campaigns=ids,
                          due_soon_within=settings.due_soon_within,
                          rejected=rejected_board(rejected_log.all()), **pictured,
                          **board(campaign, register["escalations"], breach_log.all(),
                                  filters, soon["due"]))

    async def due(session, **filters) -> dict:
        return merge({s: await views.get(session, s, "/due", **filters) for s in OWNERS})

    def due_filters(request: web.Request) -> dict[str, str]:
        """The filters asked for; a Refused naming a bad one before any service is asked."""
        wanted = {f: request.query.get(f, "") for f in ("unit", "authority", "kind",
                                                         "due_within")}
        try:
            Wanted.of(**{k: v or None for k, v in wanted.items()})
        except ValueError as exc:
            raise Refused(str(exc)) from None
        return wanted

    async def due_page(request: web.Request) -> web.Response:
        try:
            filters = due_filters(request)
            found = await due(request.app["session"], **filters)
        except Refused as exc:
            return await page(request, "refused.html", status=400, reason=str(exc), retry="/due")
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        return await page(request, "due.html", filters=filters, **found)

    async def due_json(request: web.Request) -> web.Response:
        try:
            found = await due(request.app["session"], **due_filters(request))
        except Refused as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Unavailable as exc:
            return web.json_response({"error": str(exc)}, status=503)
        return web.json_response(found)

    async def unit_page(request: web.Request) -> web.Response:
        session = request.app["session"]
        unit_id = request.match_info["unit_id"]
        category = request.query.get("category", "")
        try:
            s = page_details.seg(unit_id)
            unit = await views.get(session, "scheduler", f"/units/{s}")
            findings = await views.every(session, "findings", f"/units/{s}/findings",
                                         "findings", category=category)
            escalations = await views.get(session, "escalation", f"/units/{s}/escalations")
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if unit is None and findings is None:
            return await page(request, "unavailable.html", status=404, reason=f"no unit {unit_id} in the views")
        return await page(request, "unit.html", unit_id=unit_id, unit=unit, category=category,
                    findings=(findings or {}).get("findings", []),
                    escalations=(escalations or {}).get("escalations", []),
                    breaches=[b for b in breach_log.all() if b["unit_id"] == unit_id])

    async def breaches_json(request: web.Request) -> web.Response:
        try:
            page, after = paged(breach_log.all(), lambda b: f"{b['time']}|{b['id']}",
                                request.query.get("limit"), request.query.get("cursor"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"breaches": page, "next_cursor": after})

    def rejected_filters(request: web.Request) -> tuple[dict[str, str], list[dict]]:
        """The rejected records asked for; a Refused naming a bad filter."""
        wanted = {f: request.query.get(f, "") for f in ("cause", "since")}
        if wanted["cause"] and wanted["cause"] not in CAUSES:
            raise Refused(f"cause must be one of {', '.join(CAUSES)}; got {wanted['cause']!r}")
        since = None
        if wanted["since"]:
            try:
                since = datetime.fromisoformat(wanted["since"])
            except ValueError:
                since = None
            if since is None or since.tzinfo is None:
                raise Refused("since must be a time with its offset, such as "
                              f"2026-05-01T00:00:00+08:00; got {wanted['since']!r}")
        found = [r for r in rejected_log.all()
                 if (not wanted["cause"] or r["cause"] == wanted["cause"])
                 and (since is None or datetime.fromisoformat(r["time"]) >= since)]
        return wanted, found

    async def rejected_page(request: web.Request) -> web.Response:
        try:
            filters, found = rejected_filters(request)
        except Refused as exc:
            return await page(request, "refused.html", status=400, reason=str(exc), retry="/rejected")
        return await page(request, "rejected.html", filters=filters, rejected=found, causes=CAUSES)

    async def rejected_json(request: web.Request) -> web.Response:
        try:
            _, found = rejected_filters(request)
        except Refused as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"rejected": found})

    async def one_rejected(request: web.Request) -> web.Response:
        wanted = request.match_info["rejection_id"]
        found = next((r for r in rejected_log.all() if r["id"] == wanted), None)
        if found is None:
            return await page(request, "unavailable.html", status=404,
                        reason=f"no rejected record {wanted} on the rejected topic")
        return await page(request, "rejected_one.html", r=found)

    async def policy_page(request: web.Request) -> web.Response:
        """The city's policy as the services run it (each asked: they should agree)."""
        session = request.app["session"]
        try:
            running = {service: await views.get(session, service, "/policy")
                       for service in ("escalation", "scheduler")}
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        shown = running["escalation"] or running["scheduler"]
        if shown is None:
            return await page(request, "unavailable.html", status=503,
                              reason="no service says its policy")
        differ = running["escalation"] != running["scheduler"]
        return await page(request, "policy.html", p=shown, differ=differ, running=running)

    async def assessment_page(request: web.Request) -> web.Response:
        from inspections import assessment

        name = request.match_info["year"]
        year_text, _, fmt = name.partition(".")
        if not year_text.isdigit() or fmt not in ("", *assessment.FORMATS):
            return await page(request, "refused.html", status=400, reason=(
                f"{name}: a year such as 2026, or 2026.csv or 2026.xlsx to download"))
        year = int(year_text)
        try:  # the same rows as the command, asked the same way (in a thread: it blocks)
            table = await asyncio.get_running_loop().run_in_executor(
                None, assessment.gather, settings, year)
        except RuntimeError as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if fmt:
            return web.Response(body=assessment.export(table, year, fmt), headers={
                "Content-Type": DOWNLOADS[fmt],
                "Content-Disposition": f'attachment; filename="assessment-{year}.{fmt}"'})
        return await page(request, "assessment.html", year=year, rows=table,
                    site_kinds=assessment.SITE_KINDS, categories=list(CATEGORIES),
                    breach_kinds=BREACH_KINDS)

    async def alive(request: web.Request) -> web.Response:
        return web.json_response({"service": "operator", "status": "alive"})

    @web.middleware
    async def secure(request, handler):
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and errors carry them too
            exc.headers.update(SECURITY_HEADERS)
            raise
        response.headers.update(SECURITY_HEADERS)
        return response

    app = web.Application(middlewares=[secure, webauth.middleware(settings)])
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", board_page)
    app.router.add_get("/units/{unit_id}", unit_page)
    app.router.add_get("/breaches.json", breaches_json)
    app.router.add_get("/due", due_page)
    app.router.add_get("/due.json", due_json)
    app.router.add_get("/rejected", rejected_page)
    app.router.add_get("/rejected.json", rejected_json)
    app.router.add_get("/rejected/{rejection_id}", one_rejected)
    app.router.add_get("/assessments/{year}", assessment_page)
    app.router.add_get("/policy", policy_page)
    for path, handler in page_details.routes(page, views, breach_log):
        app.router.add_get(path, handler)
    app.router.add_get("/healthz", alive)
    return app


def serve(settings: Settings) -> None:
    from aiohttp import web

    logs.configure("operator", settings.log_level, settings.log_format)
    refused = webauth.open_refusal(settings, settings.web_host, "the operator page")
    if refused:
        raise SystemExit(f"error: {refused}")
    logs.get(__name__).info("operator page", url=f"http://{host(settings)}:{port(settings)}/")
    web.run_app(create_app(settings), host=settings.web_host, port=port(settings),
                print=None, access_log=None)

"""The operator page's detail pages and search: one escalation (its ladder and the events
behind each step), one finding (its history and escalations), one visit (its figures and
problem list), and a search by any id that leads to them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import quote

from inspections.page import pictures
from inspections.page.sources import Unavailable
from kernel.vocabulary import AUTHORITIES, CATEGORIES


def seg(text: str) -> str:
    """An id as one path segment (an id may hold "/" or "?"): quoted whole."""
    return quote(text, safe="")


def routes(page, views, breach_log) -> list[tuple[str, object]]:
    from aiohttp import web

    async def escalation_page(request: web.Request) -> web.Response:
        eid = request.match_info["escalation_id"]
        try:
            found = await views.get(request.app["session"], "escalation",
                                    f"/escalations/{seg(eid)}")
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if found is None or not request["who"].sees(found["unit_id"]):
            return await page(request, "unavailable.html", status=404,
                              reason=f"no escalation {eid} in the views")
        from inspections.page.actions import new_action_id

        breaches = [b for b in breach_log.all() if b["subject_id"].startswith(f"{eid}:")
                    or b["subject_id"] == eid]
        return await page(request, "escalation.html", e=found, breaches=breaches,
                          ladder=pictures.ladder(found, breaches),
                          may=request["who"].may(found), action_id=new_action_id())

    async def finding_page(request: web.Request) -> web.Response:
        fid = request.match_info["finding_id"]
        session = request.app["session"]
        try:
            found = await views.get(session, "findings", f"/findings/{seg(fid)}")
            if found is not None and not request["who"].sees(found["unit_id"]):
                found = None
            of_unit = found and await views.every(
                session, "escalation", f"/units/{seg(found['unit_id'])}/escalations",
                "escalations")
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if found is None:
            return await page(request, "unavailable.html", status=404,
                              reason=f"no finding {fid} in the views")
        escalations = [e for e in (of_unit or {}).get("escalations", [])
                       if e["finding_id"] == fid]
        return await page(request, "finding.html", f=found, escalations=escalations,
                          breaches=[b for b in breach_log.all() if b["subject_id"] == fid])

    async def visit_page(request: web.Request) -> web.Response:
        vid = request.match_info["visit_id"]
        session = request.app["session"]
        try:
            visit = await views.get(session, "scheduler", f"/visits/{seg(vid)}")
            findings = await views.every(session, "findings", f"/visits/{seg(vid)}/findings",
                                         "findings")
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if visit is None or not request["who"].sees(visit.get("unit_id")):
            return await page(request, "unavailable.html", status=404,
                              reason=f"no visit {vid} in the views")
        return await page(request, "visit.html", v=visit,
                          findings=(findings or {}).get("findings", []),
                          breaches=[b for b in breach_log.all() if b["subject_id"] == vid])

    async def timeline_page(request: web.Request) -> web.Response:
        """A campaign's visits as a timeline, and its open findings and escalations over time
        (each planned unit's problem list and escalations, asked of their owners)."""
        cid = request.match_info["campaign_id"]
        session = request.app["session"]
        try:
            campaign = await views.every(session, "scheduler", f"/campaigns/{seg(cid)}",
                                         "units")
            units = [u["unit_id"] for u in (campaign or {}).get("units", [])]
            findings = await asyncio.gather(*(views.every(
                session, "findings", f"/units/{seg(u)}/findings", "findings") for u in units))
            escalations = await asyncio.gather(*(views.every(
                session, "escalation", f"/units/{seg(u)}/escalations", "escalations")
                for u in units))
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if campaign is None:
            return await page(request, "unavailable.html", status=404,
                              reason=f"no campaign {cid} in the views")
        by_unit = {u: (f or {}).get("findings", []) for u, f in zip(units, findings)}
        every_escalation = [e for found in escalations for e in (found or {}).get(
            "escalations", [])]
        times = await views.stream_times(session)
        as_of = max((datetime.fromisoformat(t) for t in times.values() if t), default=None)
        labels = {**CATEGORIES, **AUTHORITIES}
        return await page(request, "timeline.html", c=campaign,
                          gantt=pictures.gantt(campaign, by_unit, as_of),
                          burndown=pictures.burndown(
                              [f for fs in by_unit.values() for f in fs], every_escalation,
                              campaign["campaign_id"], labels))

    async def search(request: web.Request) -> web.Response:
        q = request.query.get("q", "").strip()
        if not q:
            return await page(request, "refused.html", status=400,
                              reason="type an id to find: a unit, visit, finding or escalation")
        session, s = request.app["session"], seg(q)
        asks = {"unit": ("scheduler", f"/units/{s}"), "visit": ("scheduler", f"/visits/{s}"),
                "finding": ("findings", f"/findings/{s}"),
                "escalation": ("escalation", f"/escalations/{s}")}
        try:
            answers = await asyncio.gather(*(views.get(session, service, path)
                                             for service, path in asks.values()))
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        who = request["who"]
        hits = [(kind, f"/{kind}s/{s}") for kind, found in zip(asks, answers)
                if found and who.sees(found.get("unit_id", q))]
        if len(hits) == 1:
            raise web.HTTPFound(hits[0][1])
        status = 200 if hits else 404
        return await page(request, "search.html", status=status, q=q, hits=hits)

    return [("/escalations/{escalation_id}", escalation_page),
            ("/campaigns/{campaign_id}/timeline", timeline_page),
            ("/findings/{finding_id}", finding_page), ("/visits/{visit_id}", visit_page),
            ("/search", search)]

"""After-care on the operator page (跟踪监督): the rectification ledger of the campaign (every
unit's line, the listed hazards and the open transfers with their age), a unit's ledger, the
problem list as CSV or XLSX; the draft of the status report to the city government, printable
and as XLSX, and the city safety office's record that it sent one (``status.report.submitted``,
published as the page's other actions are: checked by the gate, keyed by the campaign, once
per form).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from inspections.accounts.roles import Account
from inspections.asking import aftercare
from inspections.asking.sheets import MEDIA_TYPES
from inspections.page.actions import ACTION_ID, SOURCE, event_id, new_action_id
from kernel.vocabulary import STATUS_REPORT_SUBMITTED
from schemas.envelope import envelope

# Who records that a status report went to the city government (the seed: 市政府安办).
REPORTS_TO_CITY = "city_safety_office"


def why_not_report(who) -> str | None:
    """Why this account may not record a status report (None: it may)."""
    if not isinstance(who, Account):
        return f"{who.label()} reads and does not act: sign in with an account to act"
    if who.authority != REPORTS_TO_CITY:
        return (f"the city safety office (市政府安办) reports to the city government; "
                f"{who.name} is {who.authority or who.role}")
    return None


def status_event(who: Account, campaign: str, unit_ids: list[str], report_id: str,
                 action_id: str, now: datetime) -> dict:
    return envelope(STATUS_REPORT_SUBMITTED, event_id(action_id), source=SOURCE,
                    time=now.isoformat(), subject=campaign,
                    data={"report_id": report_id, "campaign_id": campaign,
                          "unit_ids": unit_ids, "as_of": now.isoformat()},
                    actor=who.name)


async def record_sent(acting, who, plan: dict | None, unit_ids: list[str],
                      report_id: str | None, action_id: str | None) -> tuple[int, dict]:
    """Publish the account's record of a status report of the campaign ``plan`` (its view;
    None: no such campaign): 202 with where it went, or why not (403 not the city safety
    office's, 404 no such campaign, 400 no unit, a unit it does not plan, or the gate
    refuses, 503 the broker)."""
    why = why_not_report(who)
    if why is not None:
        return 403, {"error": why}
    if plan is None:
        return 404, {"error": "no such campaign in the views"}
    campaign = plan["campaign_id"]
    if action_id is not None and not ACTION_ID.match(action_id):
        return 400, {"error": "action_id is 32 lower-case hexadecimal digits"}
    units = sorted({u.strip() for u in unit_ids if u and u.strip()})
    if not units:
        return 400, {"error": "name at least one unit the report covers"}
    unplanned = sorted(set(units) - {u["unit_id"] for u in plan["units"]})
    if unplanned:
        return 400, {"error": f"campaign {campaign} does not plan "
                              f"{', '.join(u[:128] for u in unplanned[:5])}"}
    action_id = action_id or new_action_id()
    eid = event_id(action_id)
    report_id = (report_id or "").strip() or f"SR-{action_id[:12]}"
    async with acting.lock:
        if eid in acting.published:  # the same form sent again: published once
            partition, offset = acting.published[eid][1:]
            return 202, {"event_id": eid, "report_id": report_id, "partition": partition,
                         "offset": offset, "again": True}
        event = status_event(who, campaign, units, report_id, action_id,
                             datetime.now(timezone.utc))
        status, place = await acting.send(who, eid, event, campaign)
        if status != 202:
            return status, place
        partition, offset = place[1:]
    acting.log.info("status report recorded", account=who.name, event_id=eid,
                    campaign_id=campaign, unit_ids=units, partition=partition, offset=offset)
    return 202, {"event_id": eid, "report_id": report_id, "partition": partition,
                 "offset": offset, "again": False}


def routes(page, views, acting, settings):
    from aiohttp import web

    from inspections.page.sources import Unavailable

    def asker(request):
        """A view's JSON asked in the page's own session (None for a 404)."""
        async def get(service, path, **query):
            return await views.get(request.app["session"], service, path, **query)
        return get

    async def gathered(fn, *args):
        """``fn`` of ``aftercare``, asking the views as the command line does (in a thread:
        it blocks), whole lists and all."""
        from inspections.asking.client import get

        def asking(service, path, **query):
            return get(settings, service, path, **query)

        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn, asking, *args)
        except RuntimeError as exc:
            raise Unavailable(str(exc)) from None

    async def plan_of(request) -> dict | None:
        """The campaign the request names, as the scheduler's view shows it (None: none)."""
        from inspections.page.details import seg

        return await asker(request)(
            "scheduler", f"/campaigns/{seg(request.match_info['campaign_id'])}")

    async def ledger_page(request: web.Request) -> web.Response:
        name = request.match_info.get("fmt") or ""
        campaign = request.query.get("campaign") or None
        if name:
            fmt = name.lstrip(".")
            rows = await gathered(aftercare.ledger_rows, campaign, None)
            return web.Response(body=aftercare.export_ledger(rows, fmt), headers={
                "Content-Type": MEDIA_TYPES[fmt],
                "Content-Disposition": f'attachment; filename="ledger.{fmt}"'})
        get = asker(request)
        ledger = await get("findings", "/ledger", campaign=campaign)
        listed = await get("findings", "/listed")
        transfers = await get("findings", "/transfers")
        return await page(request, "ledger.html", ledger=ledger, listed=listed,
                          transfers=transfers, campaign=campaign or "")

    async def unit_ledger_page(request: web.Request) -> web.Response:
        unit_id = request.match_info["unit_id"]
        if not request["who"].sees(unit_id):
            return await page(request, "unavailable.html", status=404,
                              reason=f"no ledger of unit {unit_id[:128]}")
        found = await asker(request)("findings", f"/units/{unit_id}/ledger")
        if found is None:
            return await page(request, "unavailable.html", status=404,
                              reason=f"no findings of unit {unit_id[:128]} yet")
        from inspections.page.pictures import ledger_states
        from kernel.vocabulary import LEDGER_STATES

        return await page(request, "unit_ledger.html", u=found,
                          picture=ledger_states(found, LEDGER_STATES))

    async def draft_page(request: web.Request) -> web.Response:
        campaign = request.match_info["campaign_id"]
        found = await gathered(aftercare.draft, campaign)
        if found is None:
            return await page(request, "unavailable.html", status=404,
                              reason=f"no campaign {campaign[:128]}")
        if request.match_info.get("fmt"):
            return web.Response(body=aftercare.draft_xlsx(found), headers={
                "Content-Type": MEDIA_TYPES["xlsx"],
                "Content-Disposition": f'attachment; filename="status-report-{campaign}.xlsx"'})
        return await page(request, "status_report.html", d=found, action_id=new_action_id(),
                          may_record=why_not_report(request["who"]) is None,
                          sent=request.query.get("sent", "")[:256])

    async def record_form(request: web.Request) -> web.Response:
        form = await request.post()
        if not acting.door.form_ok(request, str(form.get("csrf", ""))):
            return await page(request, "refused.html", status=403, reason=(
                "the form's token is missing or wrong (an old page, or a form from "
                "elsewhere): open the draft again and record from there"))
        campaign = request.match_info["campaign_id"]
        status, answer = await record_sent(
            acting, request["who"], await plan_of(request),
            [str(u) for u in form.getall("unit_id", [])],
            str(form.get("report_id", "")) or None, str(form.get("action_id", "")) or None)
        if status != 202:
            return await page(request, "refused.html", status=status, reason=answer["error"])
        from urllib.parse import quote

        raise web.HTTPSeeOther(f"/campaigns/{quote(campaign, safe='')}/status-report"
                               f"?sent={quote(answer['report_id'], safe='')}")

    async def record_json(request: web.Request) -> web.Response:
        if not acting.door.form_ok(request, request.headers.get("X-CSRF-Token")):
            return web.json_response({"error": "X-CSRF-Token is missing or wrong"}, status=403)
        try:
            body = await request.json()
            units = body["unit_ids"]
            if not isinstance(body, dict) or not isinstance(units, list):
                raise ValueError("not an object")
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "the body is a JSON object: unit_ids (a list), "
                                               "report_id and action_id (optional)"}, status=400)
        status, answer = await record_sent(
            acting, request["who"], await plan_of(request),
            [str(u)[:256] for u in units[:1000]],
            None if body.get("report_id") is None else str(body["report_id"])[:256],
            None if body.get("action_id") is None else str(body["action_id"]))
        return web.json_response(answer, status=status)

    return [("GET", "/ledger", ledger_page),
            ("GET", r"/ledger{fmt:\.(csv|xlsx)}", ledger_page),
            ("GET", "/units/{unit_id}/ledger", unit_ledger_page),
            ("GET", "/campaigns/{campaign_id}/status-report", draft_page),
            ("GET", r"/campaigns/{campaign_id}/status-report{fmt:\.xlsx}", draft_page),
            ("POST", "/campaigns/{campaign_id}/status-reports", record_form),
            ("POST", "/api/campaigns/{campaign_id}/status-reports", record_json)]


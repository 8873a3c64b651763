"""My queue (我的待办): what the signed-in account must do, soonest first: the open
escalations its authority holds now in the units it covers, and the obligations it owes (a
county government its rectification report and the follow-ups of its findings; the city safety
office the visits' days, the campaign's coverage and the status reports to the city
government), each with the time remaining by its service's stream time. A page, and
JSON (``/queue.json``, what ``inspections queue`` prints)."""

from __future__ import annotations

from inspections.accounts.roles import Account


def mine(who: Account, merged: dict) -> dict:
    """The account's part of the merged list of what is due (``kernel.due.merge``)."""
    return {"account": who.name, "authority": who.authority, "units": list(who.units),
            "as_of": merged["as_of"], "due": [d for d in merged["due"] if who.owes(d)]}


def routes(page, due_whole):
    from aiohttp import web

    from inspections.page.sources import Unavailable

    def not_an_account(request) -> str | None:
        who = request["who"]
        if isinstance(who, Account) and who.acts:
            return None
        return (f"{who.label()} has no queue: it acts on nothing. The queue is an acting "
                "account's: sign in as one")

    async def queue_page(request: web.Request) -> web.Response:
        why = not_an_account(request)
        if why:
            return await page(request, "refused.html", status=400, reason=why)
        try:
            found = mine(request["who"], await due_whole(request.app["session"]))
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        return await page(request, "queue.html", q=found)

    async def queue_json(request: web.Request) -> web.Response:
        why = not_an_account(request)
        if why:
            return web.json_response({"error": why}, status=400)
        try:
            found = mine(request["who"], await due_whole(request.app["session"]))
        except Unavailable as exc:
            return web.json_response({"error": str(exc)}, status=503)
        return web.json_response(found)

    return [("GET", "/queue", queue_page), ("GET", "/queue.json", queue_json)]

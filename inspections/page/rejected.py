"""The operator page's rejected records: the list (filtered by cause and time, in pages), and
one record with its original bytes, read again from its place on the rejected topic (the page
keeps only a summary of each; ``sources``)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from inspections.page.sources import Refused, Unavailable, rejected_detail
from kernel.paging import paged, with_next
from schemas.gate import CAUSES


def routes(page, next_page, rejected_log) -> list[tuple[str, object]]:
    """(path, handler) of the rejected records' pages."""
    from aiohttp import web

    # Reading a rejected record's bytes again opens a Kafka consumer: two at a time at most,
    # whoever asks how often.
    rereading = asyncio.Semaphore(2)

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
                              f"2026-05-01T00:00:00+08:00; got {wanted['since'][:60]!r}")
        found = [r for r in rejected_log.all()
                 if (not wanted["cause"] or r["cause"] == wanted["cause"])
                 and (since is None or datetime.fromisoformat(r["time"]) >= since)]
        return wanted, found

    def rejected_page_of(request: web.Request):
        """The filters, how many pass them, a page of those (oldest first) and the cursor
        of the next; a Refused naming a bad filter, limit or cursor."""
        filters, found = rejected_filters(request)
        try:
            shown, after = paged(found, lambda r: f"{r['time']}|{r['place']}",
                                 request.query.get("limit"), request.query.get("cursor"))
        except ValueError as exc:
            raise Refused(str(exc)) from None
        return filters, len(found), shown, after

    async def rejected_page(request: web.Request) -> web.Response:
        try:
            filters, total, shown, after = rejected_page_of(request)
        except Refused as exc:
            return await page(request, "refused.html", status=400, reason=str(exc), retry="/rejected")
        return await page(request, "rejected.html", filters=filters, rejected=shown,
                          total=total, dropped=rejected_log.dropped, causes=CAUSES,
                          next_href=next_page(request, after))

    async def rejected_json(request: web.Request) -> web.Response:
        try:
            _, _, shown, after = rejected_page_of(request)
        except Refused as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(with_next({"rejected": shown}, after))

    async def rejected_whole(wanted: str) -> dict | None:
        """One rejected record with its bytes, read again from its place on the topic; None
        when the page keeps no such record, or the topic no longer holds it."""
        if rejected_log.get(wanted) is None:
            return None
        async with rereading:
            try:
                raw = await asyncio.get_running_loop().run_in_executor(
                    None, rejected_log.record, wanted)
            except Exception as exc:  # the broker: kafka-python's errors, OSError
                raise Unavailable(f"the rejected topic could not be read: {exc}") from None
        if raw is None:
            return None
        try:
            return rejected_detail(raw)
        except (ValueError, KeyError, TypeError):
            return None

    async def one_rejected(request: web.Request) -> web.Response:
        wanted = request.match_info["rejection_id"]
        try:
            found = await rejected_whole(wanted)
        except Unavailable as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if found is None:
            return await page(request, "unavailable.html", status=404,
                        reason=f"no rejected record {wanted} on the rejected topic")
        return await page(request, "rejected_one.html", r=found)

    async def one_rejected_json(request: web.Request) -> web.Response:
        wanted = request.match_info["rejection_id"]
        try:
            found = await rejected_whole(wanted)
        except Unavailable as exc:
            return web.json_response({"error": str(exc)}, status=503)
        if found is None:
            return web.json_response(
                {"error": f"no rejected record {wanted} on the rejected topic"}, status=404)
        return web.json_response(found)
    return [("/rejected", rejected_page), ("/rejected.json", rejected_json),
            ("/rejected/{rejection_id}.json", one_rejected_json),
            ("/rejected/{rejection_id}", one_rejected)]

"""The annual target assessment's inputs on the operator page (``/assessments/{year}``): the
table the command line exports, a page at a time, and its CSV and XLSX downloads whole."""

from __future__ import annotations

import asyncio

from inspections.asking.sheets import MEDIA_TYPES
from kernel.paging import page_size, paged_in_order, year_of
from kernel.vocabulary import BREACH_KINDS, CATEGORIES


def routes(page, next_page, settings):
    from aiohttp import web

    async def assessment_page(request: web.Request) -> web.Response:
        from inspections.asking import assessment

        name = request.match_info["year"]
        year_text, _, fmt = name.partition(".")
        try:
            year = year_of(year_text)
            if fmt not in ("", *assessment.FORMATS):
                raise ValueError(fmt)
        except ValueError:
            return await page(request, "refused.html", status=400, reason=(
                f"{name[:40]}: a year such as 2026, or 2026.csv or 2026.xlsx to download"))
        try:
            page_size(request.query.get("limit"))
        except ValueError as exc:
            return await page(request, "refused.html", status=400, reason=str(exc),
                              retry=f"/assessments/{year}")
        try:  # the same rows as the command, asked the same way (in a thread: it blocks)
            table = await asyncio.get_running_loop().run_in_executor(
                None, assessment.gather, settings, year)
        except RuntimeError as exc:
            return await page(request, "unavailable.html", status=503, reason=str(exc))
        if fmt:  # a download is the whole table
            return web.Response(body=assessment.export(table, year, fmt), headers={
                "Content-Type": MEDIA_TYPES[fmt],
                "Content-Disposition": f'attachment; filename="assessment-{year}.{fmt}"'})
        try:
            rows, after = paged_in_order(table, lambda r: r["unit_id"],
                                         request.query.get("limit"), request.query.get("cursor"))
        except ValueError as exc:
            return await page(request, "refused.html", status=400, reason=str(exc),
                              retry=f"/assessments/{year}")
        return await page(request, "assessment.html", year=year, rows=rows,
                    site_kinds=assessment.SITE_KINDS, categories=list(CATEGORIES),
                    breach_kinds=BREACH_KINDS, next_href=next_page(request, after))

    return [("/assessments/{year}", assessment_page)]

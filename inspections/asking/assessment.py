"""The annual work-safety target assessment's inputs as a table: one row per unit with every
input the system keeps, and no score (the seed says results count in the assessment; how
they count is the city's, not the system's).

Joined from two services' views: the findings service's assessment of the year (visit done,
findings by category, rectified and confirmed shares, the report, breaches by kind) and the
scheduler's unit views (the visit's days on site and coverage against each threshold), with
each unit's name and kind from the year's campaign plans.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from inspections.asking import sheets
from inspections.asking.sheets import FORMATS
from kernel.vocabulary import BREACH_KINDS, CATEGORIES

SITE_KINDS = ("township", "community", "department", "enterprise")


def columns() -> list[str]:
    """Every column, in order: the same for every year and every city."""
    cols = ["unit_id", "unit_name", "unit_kind", "year", "visit_done", "visits", "visit_id",
            "days_on_site", "required_days"]
    for kind in SITE_KINDS:
        cols += [f"{kind}_visited", f"{kind}_total", f"{kind}_required", f"{kind}_met"]
    cols += ["findings", *(f"findings_{c}" for c in CATEGORIES), "rectified_share",
             "confirmed_share", "report", *(f"breaches_{k}" for k in BREACH_KINDS)]
    return cols


def _visit_of_year(unit_view: dict | None, campaign_ids: set[str], year: int) -> tuple[
        int, dict | None]:
    """(how many visits the unit had that year, the one that counts: the last started)."""
    visits = [v for v in (unit_view or {}).get("visits", [])
              if v["campaign_id"] in campaign_ids
              or (v["campaign_id"] is None and v["planned_start"]
                  and date.fromisoformat(v["planned_start"]).year == year)]
    started = [v for v in visits if v["started_at"]] or visits
    return len(visits), (max(started, key=lambda v: v["started_at"] or "") if started else None)


def rows(year: int, assessment: dict, unit_views: dict[str, dict],
         planned: dict[str, dict]) -> list[dict]:
    """One row per unit that the findings service assesses for ``year`` or a campaign of the
    year plans. ``planned``: unit id -> {"name", "kind", "campaign_id"}."""
    assessed = {a["unit_id"]: a for a in assessment.get("units", [])}
    campaign_ids = {p["campaign_id"] for p in planned.values()}
    out = []
    for unit_id in sorted(set(assessed) | set(planned)):
        a = assessed.get(unit_id) or {}
        plan = planned.get(unit_id) or {}
        count, visit = _visit_of_year(unit_views.get(unit_id), campaign_ids, year)
        row = {"unit_id": unit_id, "unit_name": plan.get("name"),
               "unit_kind": plan.get("kind") or (visit or {}).get("unit_kind"), "year": year,
               "visit_done": a.get("visit_done", bool(visit and visit["ended_at"])),
               "visits": count, "visit_id": (visit or {}).get("visit_id"),
               "days_on_site": (visit or {}).get("days_on_site"),
               "required_days": (visit or {}).get("required_days")}
        coverage = (visit or {}).get("coverage", {})
        for kind in SITE_KINDS:
            c = coverage.get(kind)
            required = None if c is None else c.get("required", c.get("required_share"))
            row |= {f"{kind}_visited": None if c is None else c["visited"],
                    f"{kind}_total": None if c is None else c.get("total"),
                    f"{kind}_required": required,
                    f"{kind}_met": None if c is None else c["met"]}
        row["findings"] = a.get("findings", 0)
        by_category = a.get("findings_by_category", {})
        row |= {f"findings_{c}": by_category.get(c, 0) for c in CATEGORIES}
        row |= {"rectified_share": a.get("rectified_share"),
                "confirmed_share": a.get("confirmed_share"), "report": a.get("report")}
        breaches = a.get("breaches_by_kind", {})
        row |= {f"breaches_{k}": breaches.get(k, 0) for k in BREACH_KINDS}
        out.append(row)
    return out


def planned_units(campaigns: Iterable[dict], year: int) -> dict[str, dict]:
    """Unit id -> name, kind and campaign, from the campaign views of ``year``."""
    found = {}
    for campaign in campaigns:
        if campaign["year"] == year:
            for unit in campaign["units"]:
                found[unit["unit_id"]] = {"name": unit["name"], "kind": unit["kind"],
                                          "campaign_id": campaign["campaign_id"]}
    return found


def export(table: list[dict], year: int, fmt: str) -> bytes:
    """The table as CSV or XLSX (``sheets``)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or xlsx; got {fmt!r}")
    if fmt == "csv":
        return sheets.to_csv(columns(), table)
    return sheets.to_xlsx([(f"assessment {year}", columns(), table)])


def gather(settings, year: int) -> list[dict]:
    """The rows, asked of the running services (a RuntimeError says which did not answer)."""
    from inspections.asking.client import get

    listed = get(settings, "scheduler", "/campaigns") or {"campaigns": []}
    campaigns = [get(settings, "scheduler", f"/campaigns/{c['campaign_id']}")
                 for c in listed["campaigns"] if c["year"] == year]
    campaigns = [c for c in campaigns if c is not None]
    assessment = get(settings, "findings", f"/assessments/{year}") or {"units": []}
    unit_views = {u["unit_id"]: {"visits": u["visits"]} for c in campaigns for u in c["units"]}
    for a in assessment["units"]:
        if a["unit_id"] not in unit_views:
            unit_views[a["unit_id"]] = get(settings, "scheduler", f"/units/{a['unit_id']}")
    return rows(year, assessment, unit_views, planned_units(campaigns, year))

"""What operators and the annual assessment read of a unit's findings, from its state: each
finding's view, and the assessment's inputs (no score); and the read model that answers the
service's declared views (``FindingsViews``)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from kernel import ids
from kernel.paging import page_size, paged, paged_in_order, with_next, year_of
from kernel.vocabulary import (
    CATEGORIES,
    FINDING_STATUSES,
    REPORT_LATE,
    REPORT_NOT_SUBMITTED,
    REPORT_ON_TIME,
    REPORT_OVERDUE,
)
from services.findings.rules import BreachRecord, Finding, UnitFindings


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def finding_view(unit_id: str, finding: Finding) -> dict:
    return {
        "finding_id": finding.finding_id, "unit_id": unit_id, "visit_id": finding.visit_id,
        "category": finding.category, "sector": finding.sector, "aspect": finding.aspect,
        "item": finding.item, "site_id": finding.site_id, "description": finding.description,
        "evidence": list(finding.evidence), "advice": finding.advice,
        "cannot_ensure_safety": finding.cannot_ensure_safety,
        "listed_supervision_advised": finding.listed_supervision_advised,
        "recorded_at": _iso(finding.recorded_at), "status": finding.status,
        "handling": list(finding.handling),
        "history": [{"time": _iso(s.time), "event_type": s.event_type, "event_id": s.event_id,
                     "status": s.status, "note": s.note} for s in finding.history],
    }


def breach_year(state: UnitFindings, breach: BreachRecord, tz: tzinfo) -> int:
    """The assessment year a breach counts in: its visit's year where the subject is a visit,
    a finding or an escalation of one (``<finding_id>:<action>``); else the year of its due
    time, the end of 31 December counting as that year."""
    visit_id = None
    if breach.subject_id in state.visits:
        visit_id = breach.subject_id
    else:
        finding = (state.findings.get(breach.subject_id)
                   or state.findings.get(ids.finding_of(breach.subject_id) or ""))
        visit_id = finding.visit_id if finding else None
    visit = state.visits.get(visit_id) if visit_id else None
    if visit is not None and visit.year is not None:
        return visit.year
    return (breach.due - timedelta(microseconds=1)).astimezone(tz).year


def assessment(state: UnitFindings, year: int, tz: tzinfo) -> dict:
    """The inputs of one unit's annual target assessment for ``year``; no score."""
    visits = {v.visit_id: v for v in state.visits.values() if v.year == year}
    findings = [f for f in state.findings.values()
                if f.visit_id in visits and f.status != "withdrawn"]
    by_category = {c: sum(1 for f in findings if f.category == c) for c in CATEGORIES}
    rectified = sum(1 for f in findings if f.status in ("rectified", "confirmed"))
    confirmed = sum(1 for f in findings if f.status == "confirmed")
    breaches: dict[str, int] = {}
    for b in state.breaches.values():
        if breach_year(state, b, tz) == year:
            breaches[b.kind] = breaches.get(b.kind, 0) + 1
    late = {b.subject_id for b in state.breaches.values() if b.kind == REPORT_OVERDUE}
    reports = []
    for v in visits.values():
        if v.visit_id in late:
            reports.append(REPORT_LATE)
        elif v.report_at is not None:
            reports.append(REPORT_ON_TIME)
        else:
            reports.append(REPORT_NOT_SUBMITTED)
    return {
        "unit_id": state.unit_id,
        "year": year,
        "visit_done": any(v.ended_at is not None for v in visits.values()),
        "findings": len(findings),
        "findings_by_category": by_category,
        "rectified_share": rectified / len(findings) if findings else None,
        "confirmed_share": confirmed / len(findings) if findings else None,
        "report": next((r for r in (REPORT_LATE, REPORT_ON_TIME, REPORT_NOT_SUBMITTED)
                        if r in reports), None),
        "breaches_by_kind": dict(sorted(breaches.items())),
    }


def assessment_years(state: UnitFindings, tz: tzinfo) -> list[int]:
    years = {v.year for v in state.visits.values() if v.year is not None}
    years |= {breach_year(state, b, tz) for b in state.breaches.values()}
    return sorted(years)


def problem_list(state: UnitFindings, status: str | None = None, category: str | None = None,
                 visit_id: str | None = None) -> list[dict] | None:
    """A unit's findings (of one visit), in the order recorded, filtered by status and
    category; None when it has none (of that visit)."""
    findings = [f for f in state.findings.values() if visit_id is None or f.visit_id == visit_id]
    if not findings:
        return None
    views = [finding_view(state.unit_id, f) for f in findings]
    return [v for v in views if (status is None or v["status"] == status)
            and (category is None or v["category"] == category)]


def unit_assessment(state: UnitFindings, year: int, tz: tzinfo) -> dict | None:
    """The unit's assessment inputs for ``year``, when it has any that year."""
    return assessment(state, year, tz) if year in assessment_years(state, tz) else None


def year_assessment(year: int, units: list[dict]) -> dict:
    """Every unit's assessment inputs of a year, by unit."""
    return {"year": year, "units": sorted(units, key=lambda a: a["unit_id"])}


class FindingsViews:
    """The findings service's read model: what each of its declared views answers
    (``services.findings.app``), over a part of its state (a ``Shelf``)."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    @staticmethod
    def _filters(asked) -> tuple[str | None, str | None]:
        status, category = asked.query.get("status"), asked.query.get("category")
        if status is not None and status not in FINDING_STATUSES:
            raise ValueError(f"status must be one of {list(FINDING_STATUSES)}")
        return status, category

    @staticmethod
    def _listed(key: str, ident: str, found: list, asked) -> dict | None:
        """A problem list, a page of it (``limit``, ``cursor``: the last finding id of the
        page before) in the order recorded, with the cursor of the next."""
        if not found:
            return None
        page, after = paged_in_order(found[0], lambda f: f["finding_id"],
                                     asked.query.get("limit"), asked.query.get("cursor"))
        return {key: ident, "findings": page, "next_cursor": after}

    # /units/{unit_id}/findings
    def of_unit_here(self, shelf, asked) -> list[list[dict]]:
        wanted = self._filters(asked)
        state = shelf.unit("units", asked.params["unit_id"])
        found = problem_list(state, *wanted) if state is not None else None
        return [] if found is None else [found]

    def of_unit(self, found: list, asked) -> dict | None:
        return self._listed("unit_id", asked.params["unit_id"], found, asked)

    # /visits/{visit_id}/findings
    def of_visit_here(self, shelf, asked) -> list[list[dict]]:
        wanted, visit_id = self._filters(asked), asked.params["visit_id"]
        state = shelf.holder("units", "visits", visit_id)
        found = problem_list(state, *wanted, visit_id=visit_id) if state else None
        return [] if found is None else [found]

    def of_visit(self, found: list, asked) -> dict | None:
        return self._listed("visit_id", asked.params["visit_id"], found, asked)

    # /findings/{finding_id}
    def one_here(self, shelf, asked) -> list[dict]:
        finding_id = asked.params["finding_id"]
        state = shelf.holder("units", "findings", finding_id)
        finding = state.findings.get(finding_id) if state is not None else None
        return [] if finding is None else [finding_view(state.unit_id, finding)]

    def every_finding(self, shelf):
        for state in shelf.units("units"):
            for finding_id, finding in state.findings.items():
                yield finding_id, finding_view(state.unit_id, finding)

    # /assessments/{year}: the year's rows by unit id, a page of them (``cursor``: the last
    # unit id of the page before)
    def assessment_here(self, shelf, asked) -> list[dict]:
        year = year_of(asked.params["year"])
        page_size(asked.query.get("limit"))  # refused before any worker is asked
        return [entry for state in shelf.units("units")
                if (entry := unit_assessment(state, year, self.tz)) is not None]

    def assessment(self, found: list[dict], asked) -> dict:
        page, after = paged(found, lambda a: a["unit_id"], asked.query.get("limit"),
                            asked.query.get("cursor"))
        return with_next(year_assessment(year_of(asked.params["year"]), page), after)

    def every_assessment(self, shelf):
        for state in shelf.units("units"):
            for year in assessment_years(state, self.tz):
                yield str(year), unit_assessment(state, year, self.tz)

    def whole_assessment(self, year: str, items: list[dict], rows) -> dict:
        return year_assessment(int(year), items)

"""What operators and the annual assessment read of a unit's findings, from its state: each
finding's view, and the assessment's inputs (no score); and the read model that answers the
service's declared views (``FindingsViews``)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from kernel import ids
from kernel.due import Due, due_checked, due_here, parts_as_of
from kernel.paging import page_size, paged, paged_in_order, with_next, year_of
from kernel.vocabulary import (
    CATEGORIES,
    CHECK_METHODS,
    FINDING_STATUSES,
    LEDGER_STATES,
    REPORT_LATE,
    REPORT_NOT_SUBMITTED,
    REPORT_ON_TIME,
    REPORT_OVERDUE,
)
from services.findings.aftercare import FOLLOWED
from services.findings.state import BreachRecord, Finding, FollowUp, UnitFindings, VisitRecord


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
                     "status": s.status, "note": s.note, "ledger": s.ledger or None}
                    for s in finding.history],
        "ledger": finding.ledger,
        "follow_up": _follow_up(finding.follow_up),
        "listing": None if (l := finding.listing) is None else {
            "listed": l.listed, "decided_at": _iso(l.decided_at), "document_no": l.document_no,
            "lifted_at": _iso(l.lifted_at), "lifted_document_no": l.lifted_document_no},
        "conclusion": None if (c := finding.conclusion) is None else {
            "outcome": c.outcome, "by": c.by, "at": _iso(c.at)},
    }


def _follow_up(f: FollowUp | None) -> dict | None:
    return None if f is None else {
        "n": f.n, "due": _iso(f.due), "set_by": f.set_by, "set_at": _iso(f.set_at),
        "ended_at": _iso(f.ended_at), "breached": f.breached}


def _age(since: datetime | None, as_of: datetime | None) -> int | None:
    """Whole seconds from ``since`` to ``as_of`` (the service's stream time)."""
    if since is None or as_of is None:
        return None
    return max(0, int((as_of - since).total_seconds()))


# -- the rectification ledger (整改台账) ------------------------------------------------------
def ledger_since(finding: Finding) -> datetime:
    """When the finding came to its ledger state: the last step that moved the ledger."""
    return next((s.time for s in reversed(finding.history) if s.ledger), finding.recorded_at)


def ledger_entry(unit_id: str, finding: Finding) -> dict:
    """A finding's line in the ledger: its state and since when (its age, against the
    service's stream time, is the reader's: ``/ledger`` says it), each step that moved it
    with the event behind it, and its follow-up."""
    follow_up = finding.follow_up
    return {
        "finding_id": finding.finding_id, "unit_id": unit_id, "visit_id": finding.visit_id,
        "category": finding.category, "sector": finding.sector, "aspect": finding.aspect,
        "item": finding.item, "description": finding.description,
        "recorded_at": _iso(finding.recorded_at), "ledger": finding.ledger,
        "since": _iso(ledger_since(finding)),
        "follow_up": _follow_up(follow_up),
        "follow_up_overdue": follow_up is not None and follow_up.breached
        and follow_up.ended_at is None,
        "steps": [{"time": _iso(s.time), "ledger": s.ledger, "event_type": s.event_type,
                   "event_id": s.event_id, "note": s.note} for s in finding.history if s.ledger],
    }


def checks_after_report(visit: VisitRecord) -> dict:
    """The checks of a visit after its report, by method (抽查, 暗访, 回头看)."""
    after = [c for c in visit.checks
             if visit.report_at is not None and c.time >= visit.report_at]
    return {"visit_id": visit.visit_id, "report_at": _iso(visit.report_at),
            "by_method": {m: sum(1 for c in after if c.method == m) for m in CHECK_METHODS},
            "look_back": any(c.method == "look_back" for c in after),
            "checks": [{"time": _iso(c.time), "method": c.method, "result": c.result,
                        "findings": c.findings, "event_id": c.event_id} for c in visit.checks]}


def _of_campaign(state: UnitFindings,
                 campaign: str | None) -> tuple[set[str] | None, list[Finding]]:
    """The visit ids of ``campaign`` (None: every visit), and the unit's findings of them."""
    if campaign is None:
        return None, list(state.findings.values())
    visits = {v.visit_id for v in state.visits.values() if v.campaign_id == campaign}
    return visits, [f for f in state.findings.values() if f.visit_id in visits]


def unit_ledger(state: UnitFindings, campaign: str | None = None) -> dict | None:
    """A unit's ledger: each finding's entry, the count by state, and the checks after its
    report by method; None when it has no finding (of the campaign)."""
    visits, findings = _of_campaign(state, campaign)
    if not findings:
        return None
    return {"unit_id": state.unit_id, "campaign_id": campaign,
            **ledger_row(state, findings, visits),
            "findings": [ledger_entry(state.unit_id, f) for f in findings]}


def ledger_row(state: UnitFindings, findings: list[Finding], visits: set[str] | None) -> dict:
    """A unit's line in the campaign's ledger: findings by state, follow-ups open and overdue,
    checks after its report by method, and whether it has had a look-back."""
    checks = [checks_after_report(v) for v in state.visits.values()
              if (visits is None or v.visit_id in visits) and v.report_at is not None]
    open_follow_ups = [f.follow_up for f in findings
                       if f.follow_up is not None and f.follow_up.ended_at is None]
    return {
        "by_state": {k: sum(1 for f in findings if f.ledger == k) for k in LEDGER_STATES},
        "follow_ups_open": sum(1 for f in open_follow_ups if not f.breached),
        "follow_ups_overdue": sum(1 for f in open_follow_ups if f.breached),
        "reported": bool(checks),
        "checks_by_method": {m: sum(c["by_method"][m] for c in checks) for m in CHECK_METHODS},
        "look_back": any(c["look_back"] for c in checks),
        "visits": checks,
    }


def campaign_ledger(rows: list[dict], as_of: datetime | None, campaign: str | None) -> dict:
    """Every unit's line, by unit id; the totals by state; the units whose report arrived and
    that have had no look-back yet."""
    rows = sorted(rows, key=lambda r: r["unit_id"])
    return {"campaign_id": campaign, "as_of": _iso(as_of),
            "by_state": {k: sum(r["by_state"][k] for r in rows) for k in LEDGER_STATES},
            "no_look_back": [r["unit_id"] for r in rows if r["reported"] and not r["look_back"]],
            "units": rows}


def follow_ups_due(state: UnitFindings) -> list[Due]:
    """The follow-ups a unit owes (``rectification_follow_up``), for ``/due``."""
    return [Due("rectification_follow_up", f.finding_id, state.unit_id, f.follow_up.due, None,
                f"finding {f.finding_id} {f.ledger} since {ledger_since(f).isoformat()}")
            for f in state.findings.values()
            if (u := f.follow_up) is not None and u.ended_at is None and not u.breached
            and f.ledger in FOLLOWED]


def listed_hazards(state: UnitFindings) -> list[dict]:
    """The unit's findings under listed supervision (挂牌督办), not lifted."""
    return [{"finding_id": f.finding_id, "unit_id": state.unit_id, "visit_id": f.visit_id,
             "category": f.category, "description": f.description,
             "document_no": f.listing.document_no, "listed_at": _iso(f.listing.decided_at),
             "ledger": f.ledger}
            for f in state.findings.values()
            if f.listing is not None and f.listing.listed and f.listing.lifted_at is None
            and f.ledger != "withdrawn"]


def transfers(state: UnitFindings, concluded: bool) -> list[dict]:
    """The unit's accountability findings (移交调查处理) without an outcome (with, too, when
    ``concluded``)."""
    return [{"finding_id": f.finding_id, "unit_id": state.unit_id, "visit_id": f.visit_id,
             "description": f.description, "recorded_at": _iso(f.recorded_at),
             "outcome": None if f.conclusion is None else f.conclusion.outcome,
             "concluded_by": None if f.conclusion is None else f.conclusion.by,
             "concluded_at": None if f.conclusion is None else _iso(f.conclusion.at)}
            for f in state.findings.values()
            if f.category == "accountability" and f.ledger != "withdrawn"
            and (concluded or f.conclusion is None)]


def board(found: list[dict], since: str, key: str) -> dict:
    """A board from every part's items (``{"as_of"}`` first in each): by ``since``, oldest
    first, each with its age at the latest stream time."""
    as_of, items = parts_as_of(found)
    items.sort(key=lambda i: (i[since], i["finding_id"]))
    return {"as_of": _iso(as_of),
            key: [{**i, "age_s": _age(datetime.fromisoformat(i[since]), as_of)}
                  for i in items]}


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

    # /units/{unit_id}/ledger[?campaign=]
    def ledger_of_unit_here(self, shelf, asked) -> list[dict]:
        state = shelf.unit("units", asked.params["unit_id"])
        found = None if state is None else unit_ledger(state, asked.query.get("campaign"))
        return [] if found is None else [found]

    # /ledger[?campaign=]: every unit's line
    def ledger_here(self, shelf, asked) -> list[dict]:
        campaign = asked.query.get("campaign")
        t = shelf.stream_time()
        rows: list[dict] = [{"as_of": _iso(t)}]
        for state in shelf.units("units"):
            visits, findings = _of_campaign(state, campaign)
            if findings:
                rows.append({"unit_id": state.unit_id, **ledger_row(state, findings, visits)})
        return rows

    def ledger(self, found: list[dict], asked) -> dict:
        as_of, rows = parts_as_of(found)
        return campaign_ledger(rows, as_of, asked.query.get("campaign"))

    def every_ledger(self, shelf):
        for state in shelf.units("units"):
            found = unit_ledger(state)
            if found is not None:
                yield state.unit_id, found

    # /due: the follow-ups owed
    def due_here(self, shelf, asked) -> list[dict]:
        due_checked(asked.query)
        return due_here(shelf, (d for state in shelf.units("units")
                                for d in follow_ups_due(state)))

    # /listed: the listed hazards (挂牌督办) not lifted
    def listed_here(self, shelf, asked) -> list[dict]:
        t = shelf.stream_time()
        return [{"as_of": _iso(t)}, *(h for state in shelf.units("units")
                                      for h in listed_hazards(state))]

    def listed(self, found: list[dict], asked) -> dict:
        return board(found, "listed_at", "listed")

    # /transfers[?concluded=true]: transfers for investigation without an outcome
    def transfers_here(self, shelf, asked) -> list[dict]:
        concluded = asked.query.get("concluded", "false")
        if concluded not in ("true", "false"):
            raise ValueError("concluded must be true or false")
        t = shelf.stream_time()
        return [{"as_of": _iso(t)}, *(x for state in shelf.units("units")
                                      for x in transfers(state, concluded == "true"))]

    def transfers(self, found: list[dict], asked) -> dict:
        return board(found, "recorded_at", "transfers")

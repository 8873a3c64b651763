"""The report to the city government (报告市政府), judged across partitions.

Pure: standard library only. Rule (the seed's "promptly", made measurable): each unit whose
rectification report arrived, or fell due, is covered within one calendar month by a
``status.report.submitted`` naming it, sent after that (at or before the due time is in time);
missed, one ``status_report_overdue`` breach, its subject the unit's visit.

A unit's report lives on its partition, a status report on its campaign's: each partition's
scheduler sends what it knows to the campaign side (as for coverage). An obligation is judged
once every partition's stream time has passed its due time; a status report counts only if its
own partition had not passed the due time when it was applied, so that how partitions
interleave cannot change the judgement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from kernel import capacity, ids
from kernel.breaches import Breach
from kernel.dates import add_months
from kernel.frozen import evolve
from kernel.vocabulary import STATUS_REPORT_OVERDUE

RULE = "status_report"


@dataclass(frozen=True)
class Owed:
    """A unit's visit to be covered by a status report: from ``since`` (its report arrived, or
    fell due) to ``due``."""

    unit_id: str
    visit_id: str
    since: datetime
    due: datetime
    covered_by: str | None = None  # the status report's id
    breached_at: datetime | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Sent:
    """A status report as its partition applied it."""

    report_id: str
    time: datetime
    unit_ids: tuple[str, ...]
    event_id: str
    stream_time: datetime


@dataclass(frozen=True)
class StatusReports:
    campaign_id: str
    owed: dict[str, Owed] = field(default_factory=dict)  # by visit id
    sent: tuple[Sent, ...] = ()
    next_due: datetime | None = None  # the earliest due of those still open

    @property
    def open(self) -> bool:
        return self.next_due is not None


def _still_open(o: Owed) -> bool:
    return o.covered_by is None and o.breached_at is None


def _with(reports: StatusReports, **changes) -> StatusReports:
    """``reports`` changed, its earliest open due kept with it (a watermark looks no further
    while every partition is before it)."""
    new = evolve(reports, **changes)
    return evolve(new, next_due=min((o.due for o in new.owed.values() if _still_open(o)),
                                    default=None))


def since_of(report_at: datetime | None, report_due: datetime, overdue: bool) -> datetime:
    """When a status report is owed from: the unit's report, when it came in time (before
    its partition's stream time passed the due time: ``overdue`` says it did not); else the
    report's due time (it fell due). Known on the unit's partition before it passes the due
    time, whichever way the partitions interleave."""
    return report_at if report_at is not None and not overdue else report_due


def covers(sent: Sent, owed: Owed) -> bool:
    return (owed.unit_id in sent.unit_ids and owed.since <= sent.time <= owed.due
            and sent.stream_time <= owed.due)


class StatusCore:
    """Keeps one campaign's status-report obligations and judges them."""

    def __init__(self, tz: tzinfo, partitions: int, months: int = 1) -> None:
        self.tz, self.partitions, self.months = tz, partitions, months

    def owed(self, reports: StatusReports, unit_id: str,
             entries: tuple[tuple[str, datetime, str | None], ...],
             marks) -> tuple[StatusReports, list[Breach]]:
        """A unit's visits of the campaign, each (visit id, since, correlation id): a breach
        stays; an earlier ``since`` (the report came before its due time) is covered again
        from the status reports kept, whichever order they came in. A visit's ``since`` only
        ever moves earlier (its report's due time, then the report), so a later one is an
        older message sent again (a worker that restarted sends what it had sent): ignored."""
        owed = dict(reports.owed)
        for visit_id, since, correlation in entries:
            before = owed.get(visit_id)
            if before is not None and (before.breached_at or since >= before.since):
                continue
            if before is None and len(owed) >= capacity.STATUS_OWED:
                continue  # a flood of visits: past the campaign's capacity, not kept
            new = Owed(unit_id, visit_id, since, add_months(since, self.months, self.tz),
                       correlation_id=correlation)
            found = next((s for s in reports.sent if covers(s, new)), None)
            owed[visit_id] = new if found is None else evolve(new, covered_by=found.report_id)
        if owed == reports.owed:
            return reports, []
        return self.judge(_with(reports, owed=owed), marks)

    def sent(self, reports: StatusReports, sent: Sent, marks) -> tuple[StatusReports, list]:
        if any(s.event_id == sent.event_id for s in reports.sent):
            return reports, []
        kept = (*reports.sent, sent) if len(reports.sent) < capacity.STATUS_SENT \
            else reports.sent
        owed = {visit_id: evolve(o, covered_by=sent.report_id)
                if o.covered_by is None and o.breached_at is None and covers(sent, o) else o
                for visit_id, o in reports.owed.items()}
        return self.judge(_with(reports, sent=kept, owed=owed), marks)

    def judge(self, reports: StatusReports, marks) -> tuple[StatusReports, list[Breach]]:
        """Each open obligation whose due time every partition has passed: a breach."""
        floor = marks.floor(self.partitions)
        if floor is None or reports.next_due is None or floor <= reports.next_due:
            return reports, []
        breaches, owed = [], dict(reports.owed)
        for visit_id, o in sorted(reports.owed.items()):
            if not _still_open(o) or o.due >= floor:
                continue
            passed = [marks.first_past(p, o.due) for p in range(self.partitions)]
            last = max(passed, key=lambda m: (m.time, m.event_id))
            owed[visit_id] = evolve(o, breached_at=last.time)
            breaches.append(Breach(
                deadline_id=ids.rule_deadline(visit_id, RULE), kind=STATUS_REPORT_OVERDUE,
                unit_id=o.unit_id, subject_id=visit_id, due=o.due, breached_at=last.time,
                cause_id=last.event_id, correlation_id=o.correlation_id,
                detail=f"no status report to the city government naming {o.unit_id} from "
                       f"{o.since.isoformat()} to {o.due.isoformat()}"))
        return _with(reports, owed=owed), breaches

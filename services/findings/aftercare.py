"""After-care (跟踪监督) of a finding, pure: where it stands in the rectification ledger
(整改台账), and the follow-up it owes when a report leaves it pending or a check reopens it.

The findings core (``rules.py``) calls these with each step of a finding; standard library
only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo

from kernel import ids
from kernel.breaches import Breach
from kernel.dates import add_months
from kernel.deadlines import Deadline
from kernel.frozen import evolve
from kernel.vocabulary import FOLLOW_UP_OVERDUE
from services.findings.state import FollowUp


# The ledger's states that owe a follow-up, and those that end one.
FOLLOWED = frozenset({"pending", "reopened"})
ENDS_FOLLOW_UP = frozenset({"claimed", "verified", "withdrawn"})


def ledger_next(current: str, wanted: str) -> str:
    """The ledger's next state: a withdrawn finding stays withdrawn; a claim or a report's
    "pending" does not undo a verification (only a check reopens it)."""
    if current == "withdrawn" or current == "verified" and wanted in ("claimed", "pending"):
        return current
    return wanted


def open_deadlines(state) -> Iterator[Deadline]:
    """The follow-ups a unit owes (what a worker's timeline is rebuilt from)."""
    for finding in state.findings.values():
        f = finding.follow_up
        if f is not None and f.ended_at is None and not f.breached:
            yield Deadline(f.due, ids.follow_up_deadline(finding.finding_id, f.n), state.unit_id)


def follow(finding, moved: str, event, months: int, tz: tzinfo, unit_id: str):
    """The finding after a step that moved its ledger to ``moved`` ("": not moved), with the
    deadlines to open and close: a claim, verification or withdrawal ends an open follow-up;
    pending or reopened (again) owes one, ``months`` calendar months from ``event``, replacing
    the one before. 0 months: none owed."""
    follow_up = finding.follow_up
    if follow_up is not None and follow_up.ended_at is None and moved in ENDS_FOLLOW_UP:
        return (evolve(finding, follow_up=evolve(follow_up, ended_at=event.time)), (),
                (ids.follow_up_deadline(finding.finding_id, follow_up.n),))
    if moved not in FOLLOWED or months <= 0:
        return finding, (), ()
    n = follow_up.n + 1 if follow_up is not None else 1
    closed = ()
    if follow_up is not None and follow_up.ended_at is None:
        closed = (ids.follow_up_deadline(finding.finding_id, follow_up.n),)
    due = add_months(event.time, months, tz)
    return (evolve(finding, follow_up=FollowUp(n, due, event.id, event.time,
                                               correlation_id=event.correlationid)),
            (Deadline(due, ids.follow_up_deadline(finding.finding_id, n), unit_id),), closed)


def overdue(finding, deadline: Deadline, now: datetime, cause, unit_id: str):
    """The finding and its breach when ``deadline`` is its follow-up still owed; else None."""
    follow_up = finding.follow_up if finding is not None else None
    if follow_up is None or follow_up.ended_at is not None or follow_up.breached \
            or ids.follow_up_deadline(finding.finding_id, follow_up.n) != deadline.deadline_id:
        return None
    breach = Breach(
        deadline_id=deadline.deadline_id, kind=FOLLOW_UP_OVERDUE, unit_id=unit_id,
        subject_id=finding.finding_id, due=deadline.due, breached_at=now, cause_id=cause.id,
        correlation_id=follow_up.correlation_id,
        detail=f"left {finding.ledger} on {follow_up.set_at.isoformat()} (event "
               f"{follow_up.set_by}), not rectified by {deadline.due.isoformat()}")
    return evolve(finding, follow_up=evolve(follow_up, breached=True)), breach

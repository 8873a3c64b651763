"""What is due: every open obligation, whichever service owns it, in one shape.

An obligation is something someone must still do by a time: an escalation at its current
level (its authority must act), a rectification report after feedback (the unit), a visit on
site that may not end before it has its days (the team), a planned unit's visit that must end
before the campaign's coverage is due (全覆盖). Each service lists its own from its state;
the operator page and ``inspections due`` merge them, sorted by due time.

``remaining`` is counted from a service's stream time (its ``as_of``), not the wall clock:
the rules judge by event time, and so does the countdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from kernel.paging import paged_due, with_next
from kernel.vocabulary import OBLIGATION_KINDS


@dataclass(frozen=True)
class Due:
    kind: str  # one of OBLIGATION_KINDS
    subject_id: str  # the escalation, visit or campaign it is about
    unit_id: str
    due: datetime
    authority: str | None  # who must act, where an authority must (escalations)
    detail: str  # the action, the rule or the campaign, in the domain's words
    level: int | None = None

    def view(self) -> dict:
        return {"kind": self.kind, "subject_id": self.subject_id, "unit_id": self.unit_id,
                "due": self.due.isoformat(), "authority": self.authority,
                "detail": self.detail, "level": self.level}


_WITHIN = re.compile(r"^\s*([0-9]{1,9})\s*([mhdw])\s*$", re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# A span longer than a century says nothing a century would not (and overflows dates).
MAX_SPAN = timedelta(days=36_525)


def parse_within(text: str) -> timedelta:
    """``48h``, ``2d``, ``90m``, ``1w``: a span of time. A clear ValueError otherwise."""
    found = _WITHIN.match(text or "")
    if found is None:
        raise ValueError(f"due_within must be a number and a unit (m, h, d or w), "
                         f"such as 48h or 2d; got {text[:40]!r}")
    span = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if span > MAX_SPAN:
        raise ValueError(f"due_within must be at most 100 years (36525d); got {text[:40]!r}")
    return span


@dataclass(frozen=True)
class Wanted:
    """The filters of a due list; None passes everything."""

    unit: str | None = None
    authority: str | None = None
    kind: str | None = None
    within: timedelta | None = None

    @classmethod
    def of(cls, unit: str | None = None, authority: str | None = None,
           kind: str | None = None, due_within: str | None = None) -> Wanted:
        """From a request's words; a ValueError naming the bad one."""
        if kind is not None and kind not in OBLIGATION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(OBLIGATION_KINDS)}; got {kind!r}")
        return cls(unit or None, authority or None, kind,
                   None if due_within in (None, "") else parse_within(due_within))

    def passes(self, view: dict, as_of: datetime | None) -> bool:
        return ((self.unit is None or view["unit_id"] == self.unit)
                and (self.authority is None or view["authority"] == self.authority)
                and (self.kind is None or view["kind"] == self.kind)
                and (self.within is None or as_of is None
                     or datetime.fromisoformat(view["due"]) <= as_of + self.within))


def due_list(views: list[dict], as_of: datetime | None, wanted: Wanted) -> dict:
    """A service's answer from its obligations' views (gathered from its workers): its
    stream time and those that pass, soonest first, each with its time remaining."""
    chosen = sorted((v for v in views if wanted.passes(v, as_of)),
                    key=lambda v: (datetime.fromisoformat(v["due"]), v["kind"],
                                   v["subject_id"]))
    return {"as_of": None if as_of is None else as_of.isoformat(),
            "due": [{**v, "remaining_s": None if as_of is None else int(
                (datetime.fromisoformat(v["due"]) - as_of).total_seconds())} for v in chosen]}


def parts_as_of(found: list[dict]) -> tuple[datetime | None, list[dict]]:
    """What every part of a service's state found (each part's ``{"as_of"}`` first, then its
    items, as ``due_here`` gives them): the latest stream time, and the items."""
    times = [datetime.fromisoformat(i["as_of"]) for i in found
             if "as_of" in i and i["as_of"] is not None]
    return latest(times), [i for i in found if "as_of" not in i]


def latest(times) -> datetime | None:
    """The latest of some stream times (None where there are none)."""
    return max((t for t in times if t is not None), default=None)


# The services that own obligations (the findings service: the follow-ups of findings left
# pending or reopened).
OWNERS = ("scheduler", "findings", "escalation")


def merge(answers: dict[str, dict]) -> dict:
    """One list from the services' answers: every obligation, soonest first, with its
    ``service``; ``as_of``: each service's stream time."""
    items = [{**item, "service": service} for service, answer in answers.items()
             for item in answer["due"]]
    items.sort(key=lambda i: (datetime.fromisoformat(i["due"]), i["kind"], i["subject_id"]))
    return {"as_of": {service: answer["as_of"] for service, answer in answers.items()},
            "due": items}


# -- a service's /due view, from the parts of its state ----------------------------------
def due_here(shelf, items) -> list[dict]:
    """A service's ``/due`` view in one part of its state: its stream time first
    (``{"as_of": ...}``), then its obligations' views."""
    t = shelf.stream_time()
    return [{"as_of": None if t is None else t.isoformat()}, *(i.view() for i in items)]


def due_checked(query) -> Wanted:
    """A ``/due`` request's filters; a ValueError names a bad one, or a bad page."""
    wanted = Wanted.of(query.get("unit"), query.get("authority"), query.get("kind"),
                       query.get("due_within"))
    paged_due([], query.get("limit"), query.get("cursor"))
    return wanted


def due_view(model, found: list[dict], asked) -> dict:
    """A ``View.answer`` for a service's ``/due``: ``due_answer`` of the request's query."""
    return due_answer(found, asked.query)


def due_answer(found: list[dict], query) -> dict:
    """A service's ``/due`` view from every part's (``due_here``): filtered by the request's
    ``unit``, ``authority``, ``kind`` and ``due_within`` against the latest stream time; a
    page of it (``limit``, ``cursor``: ``paged_due``)."""
    wanted = due_checked(query)
    as_of, items = parts_as_of(found)
    whole = due_list(items, as_of, wanted)
    page, after = paged_due(whole["due"], query.get("limit"), query.get("cursor"))
    return with_next({**whole, "due": page}, after)

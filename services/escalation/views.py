"""What operators read of the escalations: each one's view from its state, and the read
model that answers the service's declared views (``EscalationViews``)."""

from __future__ import annotations

from datetime import datetime

from kernel.due import Due, due_checked, due_here
from kernel.paging import page_size, paged, paged_in_order, whole_number, with_next
from services.escalation.rules import Escalation


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def escalation_view(e: Escalation) -> dict:
    return {
        "escalation_id": e.escalation_id, "finding_id": e.finding_id, "unit_id": e.unit_id,
        "action": e.action, "status": e.status, "level": e.level, "authority": e.authority,
        "due": _iso(e.due), "raised_at": _iso(e.raised_at), "closed_at": _iso(e.closed_at),
        "misses": e.misses, "overdue": e.misses > 0 and e.is_open,
        "acknowledged_by": [s.by for s in e.history if s.what == "acknowledged" and s.by],
        "history": [{"time": _iso(s.time), "what": s.what, "level": s.level,
                     "authority": s.authority, "due": _iso(s.due), "event_id": s.event_id,
                     "by": s.by, "note": s.note} for s in e.history],
    }


def of_unit(state) -> dict | None:
    """A unit's escalations, in the order they were raised; None when it has none."""
    if state is None or not state.escalations:
        return None
    return {"unit_id": state.unit_id,
            "escalations": [escalation_view(e) for e in state.escalations.values()]}


def selected(view: dict, authority: str | None = None, level: int | None = None,
             unit: str | None = None, overdue: bool | None = None) -> bool:
    """Whether an open escalation's view passes the register's filters."""
    return ((authority is None or view["authority"] == authority)
            and (level is None or view["level"] == level)
            and (unit is None or view["unit_id"] == unit)
            and (overdue is None or view["overdue"] == overdue))


def open_register(views: list[dict], page: list[dict] | None = None,
                  next_cursor: str | None = None) -> dict:
    """The open escalations, by id (``page``: those of one page of them, and the cursor of
    the next); ``open`` counts them all."""
    found = sorted(views, key=lambda v: v["escalation_id"]) if page is None else page
    return {"open": len(views), "escalations": found, "next_cursor": next_cursor}


def due_of(e: Escalation) -> Due | None:
    """An open escalation's obligation at its current level: its authority must act."""
    if e.status != "open" or e.due is None:
        return None
    return Due("escalation", e.escalation_id, e.unit_id, e.due, e.authority, e.action, e.level)


def open_entry(unit_id: str, escalation) -> tuple[str, tuple[str, str, int, str]] | None:
    """An escalation's entry in the ``open`` index (the register's, and the gauges'): while
    it is open, its unit, authority, level and status."""
    if not escalation.is_open:
        return None
    return escalation.escalation_id, (escalation.unit_id, escalation.authority,
                                      escalation.level, escalation.status)


class EscalationViews:
    """The escalation service's read model: what each of its declared views answers
    (``services.escalation.app``), over a part of its state (a ``Shelf``)."""

    # /escalations: the open register, filtered by authority, level, unit, overdue
    def open_here(self, shelf, asked) -> list[dict]:
        q = asked.query
        level = whole_number(q.get("level"), "level")
        page_size(q.get("limit"))  # a bad limit refused before any worker is asked
        overdue = q.get("overdue")
        if overdue not in (None, "true", "false"):
            raise ValueError("overdue must be true or false")
        wanted = dict(authority=q.get("authority"), level=level, unit=q.get("unit"),
                      overdue=None if overdue is None else overdue == "true")
        views = (escalation_view(shelf.unit("units", unit_id).escalations[eid])
                 for eid, (unit_id, *_) in shelf.entries("open"))
        return [v for v in views if selected(v, **wanted)]

    def register(self, found: list[dict], asked) -> dict:
        page, after = paged(found, lambda v: v["escalation_id"], asked.query.get("limit"),
                            asked.query.get("cursor"))
        return open_register(found, page, after)

    # /due: open escalations' obligations
    def due_here(self, shelf, asked) -> list[dict]:
        due_checked(asked.query)
        return due_here(shelf, (d for eid, (unit_id, *_) in shelf.entries("open")
                                if (d := due_of(shelf.unit("units", unit_id).escalations[eid]))
                                is not None))

    # /escalations/{escalation_id}
    def one_here(self, shelf, asked) -> list[dict]:
        eid = asked.params["escalation_id"]
        state = shelf.holder("units", "escalations", eid)
        found = state.escalations.get(eid) if state is not None else None
        return [] if found is None else [escalation_view(found)]

    def every(self, shelf):
        for state in shelf.units("units"):
            for eid, escalation in state.escalations.items():
                yield eid, escalation_view(escalation)

    # /units/{unit_id}/escalations: in the order raised (``cursor``: the page before's last)
    def of_unit_here(self, shelf, asked) -> list[dict]:
        found = of_unit(shelf.unit("units", asked.params["unit_id"]))
        return [] if found is None else [found]

    def of_unit(self, found: list[dict], asked) -> dict | None:
        if not found:
            return None
        page, after = paged_in_order(found[0]["escalations"], lambda e: e["escalation_id"],
                                     asked.query.get("limit"), asked.query.get("cursor"))
        return with_next({**found[0], "escalations": page}, after)

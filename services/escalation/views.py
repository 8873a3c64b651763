"""What operators read of an escalation: its view, from its state."""

from __future__ import annotations

from datetime import datetime

from kernel.due import Due
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

"""What the escalation service does with one record, given where its state lives (no faust).

- ``EscalationFlow.on_event``: an event of ``inspections.events`` through the deadline loop
  and the unit core; returns what was derived (``escalation.raised``/``escalated`` notices,
  breaches, unmatched acknowledgements) and the changed escalations to re-key.
- ``RegisterFlow.on_forward``: a changed escalation into the register (one partition).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from inspections.codec import derived_id
from inspections.deadlines import Timeline, process_on_partition
from services.escalation.domain import EscalationCore, Notice, Policy, escalation_view


@dataclass(frozen=True)
class EscalationForward:
    view: dict


def notice_event(notice: Notice, service: str) -> dict:
    """The wire form of ``escalation.raised`` / ``escalation.escalated``; its id comes from
    the escalation and level, so a replay or restart gives the same id."""
    e = notice.escalation
    event = {
        "specversion": "1.0",
        "id": derived_id(notice.type, e.escalation_id, str(e.level)),
        "source": f"urn:inspections:service:{service}",
        "type": notice.type,
        "time": notice.time.isoformat(),
        "subject": e.unit_id,
        "datacontenttype": "application/json",
        "causationid": notice.cause_id,
        "data": {"escalation_id": e.escalation_id, "finding_id": e.finding_id,
                 "unit_id": e.unit_id, "action": e.action, "authority": e.authority,
                 "level": e.level, "due": e.due.isoformat()},
    }
    if e.correlation_id is not None:
        event["correlationid"] = e.correlation_id
    return event


class EscalationFlow:
    """``views=False`` (the replay, which builds the register from the final states) returns
    no forwards."""

    def __init__(self, policy: Policy, views: bool = True) -> None:
        self.core = EscalationCore(policy)
        self.views = views

    def on_event(self, event: Any, partition: int, timelines: MutableMapping[int, Timeline],
                 states: MutableMapping, seen: Callable[[str], bool]):
        outcome, _, tracked = process_on_partition(self.core, partition, timelines, states,
                                                   seen, event)
        if outcome.duplicate:
            return (), []
        if not self.views:
            return outcome.derived, []
        forwards = []
        for unit_id in tracked.written:
            old = tracked.old(unit_id)
            old_escalations = old.escalations if old is not None else {}
            for eid, escalation in states[unit_id].escalations.items():
                if old_escalations.get(eid) is not escalation:
                    forwards.append(EscalationForward(escalation_view(escalation)))
        return outcome.derived, forwards


class RegisterFlow:
    """``store`` keys: ``escalation:<id>`` (its view), ``unit:<id>`` (its escalation ids),
    ``open:<id>`` (present while it is open: its authority and level). One key per open
    escalation, so that a change costs the same however many are open."""

    def on_forward(self, forward: EscalationForward,
                   store: MutableMapping[str, Any]) -> tuple[tuple | None, tuple | None]:
        """Keep one escalation's view; returns its open (authority, level) before and after."""
        view = forward.view
        eid = view["escalation_id"]
        store[f"escalation:{eid}"] = view
        ids = tuple(store.get(f"unit:{view['unit_id']}") or ())
        if eid not in ids:
            store[f"unit:{view['unit_id']}"] = (*ids, eid)
        before = store.get(f"open:{eid}")
        before = tuple(before) if before is not None else None
        after = (view["authority"], view["level"]) if view["status"] != "closed" else None
        if after != before:
            if after is None:
                del store[f"open:{eid}"]
            else:
                store[f"open:{eid}"] = after
        return before, after


def open_ids(store) -> list[str]:
    return sorted(key.split(":", 1)[1] for key in store if key.startswith("open:"))


def open_escalations(store, authority: str | None = None, level: int | None = None,
                     unit: str | None = None, overdue: bool | None = None) -> list[dict]:
    views = [store[f"escalation:{i}"] for i in open_ids(store)]
    return [v for v in views
            if (authority is None or v["authority"] == authority)
            and (level is None or v["level"] == level)
            and (unit is None or v["unit_id"] == unit)
            and (overdue is None or v["overdue"] == overdue)]


def open_counts(store) -> dict[tuple[str, int], int]:
    counts: dict[tuple[str, int], int] = {}
    for key in store:
        if key.startswith("open:"):
            authority, level = store[key]
            counts[(authority, level)] = counts.get((authority, level), 0) + 1
    return counts


def missed_at_top_counts(store) -> dict[str, int]:
    """Open escalations the top of the chain let pass, by that authority."""
    counts: dict[str, int] = {}
    for eid in open_ids(store):
        view = store[f"escalation:{eid}"]
        if view["status"] == "missed_at_top":
            counts[view["authority"]] = counts.get(view["authority"], 0) + 1
    return counts

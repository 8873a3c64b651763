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

from kernel.deadlines import Irregular, Timeline, process_on_partition
from services.escalation.rules import (
    EscalationCore,
    Policy,
    Unmatched,
)
from services.escalation.views import escalation_view


@dataclass(frozen=True)
class EscalationForward:
    view: dict


class EscalationFlow:
    """``views=False`` (the replay, which builds the register from the final states) returns
    no forwards."""

    def __init__(self, policy: Policy, views: bool = True) -> None:
        self.core = EscalationCore(policy)
        self.views = views
        self.irregular = Irregular()

    def on_event(self, event: Any, partition: int, timelines: MutableMapping[int, Timeline],
                 states: MutableMapping, seen: Callable[[str], bool]):
        outcome, _, tracked = process_on_partition(self.core, partition, timelines, states,
                                                   seen, event)
        self.irregular.of(outcome)
        if outcome.duplicate:
            return (), []
        self.irregular.note([f"{d.event_id}: {d.event_type} names escalation {d.escalation_id},"
                             " which nobody raised" for d in outcome.derived
                             if isinstance(d, Unmatched)])
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


TALLY = "tally"  # the open escalations counted: by "authority|level", and missed at the top


class RegisterFlow:
    """``store`` keys: ``escalation:<id>`` (its view), ``unit:<id>`` (its escalation ids),
    ``open:<id>`` (present while it is open: its authority and level), ``tally`` (how many
    are open by authority and level, and missed at the top by authority, kept as they change
    so that the gauges never count the register). One key per open escalation, so that a
    change costs the same however many are open. A forward applied twice changes nothing."""

    def on_forward(self, forward: EscalationForward, store: MutableMapping[str, Any]) -> None:
        """Keep one escalation's view, its place in its unit's list, and the tally."""
        view = forward.view
        eid = view["escalation_id"]
        old = store.get(f"escalation:{eid}")
        store[f"escalation:{eid}"] = view
        if _tallied(old) != _tallied(view):
            tally = {group: dict(counts) for group, counts in _tally(store).items()}
            for keys, step in ((_tallied(old), -1), (_tallied(view), 1)):
                for group, key in keys:
                    tally[group][key] = tally[group].get(key, 0) + step
                    if tally[group][key] == 0:
                        del tally[group][key]
            store[TALLY] = tally
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


def _tallied(view: dict | None) -> tuple[tuple[str, str], ...]:
    """Where an escalation's view counts in the tally."""
    if view is None or view["status"] == "closed":
        return ()
    keys = (("open", f"{view['authority']}|{view['level']}"),)
    if view["status"] == "missed_at_top":
        keys += (("missed_at_top", view["authority"]),)
    return keys


def _tally(store) -> dict[str, dict[str, int]]:
    return store.get(TALLY) or {"open": {}, "missed_at_top": {}}


def open_counts(store) -> dict[tuple[str, int], int]:
    """Open escalations by authority and level."""
    return {(key.rsplit("|", 1)[0], int(key.rsplit("|", 1)[1])): n
            for key, n in _tally(store)["open"].items()}


def missed_at_top_counts(store) -> dict[str, int]:
    """Open escalations the top of the chain let pass, by that authority."""
    return dict(_tally(store)["missed_at_top"])

"""What the escalation service does with each inbound event, given its stores (no faust): the
deadline loop and the unit core; it emits the ``escalation.raised`` / ``escalated`` notices,
``withdrawn`` notices, the breaches and the acknowledgements nobody's escalation matched, and keeps the set of open
escalations and the partition's tally of them (what the gauges read)."""

from __future__ import annotations

from typing import Any

from kernel.deadlines import Irregular, process_on_partition
from services.escalation.rules import Escalation, EscalationCore, Policy, Unmatched


def tallied(escalation: Escalation | None) -> tuple[tuple[str, str], ...]:
    """Where an escalation counts in its partition's tally: open by authority and level,
    and missed at the top by authority."""
    if escalation is None or not escalation.is_open:
        return ()
    keys = (("open", f"{escalation.authority}|{escalation.level}"),)
    if escalation.status == "missed_at_top":
        keys += (("missed_at_top", escalation.authority),)
    return keys


def counted(tally: dict, changes: list[tuple[Escalation | None, Escalation]]) -> dict:
    """``tally`` with each changed escalation's old place taken out and its new one in."""
    tally = {group: dict(counts) for group, counts in tally.items()} or {
        "open": {}, "missed_at_top": {}}
    for old, new in changes:
        for keys, step in ((tallied(old), -1), (tallied(new), 1)):
            for group, key in keys:
                counts = tally.setdefault(group, {})
                counts[key] = counts.get(key, 0) + step
                if counts[key] == 0:
                    del counts[key]
    return tally


class EscalationFlow:
    def __init__(self, policy: Policy) -> None:
        self.core = EscalationCore(policy)
        self.irregular = Irregular()

    def on_event(self, ctx, event: Any) -> None:
        units = ctx.store("units")
        outcome, _, tracked = process_on_partition(self.core, ctx.partition,
                                                   ctx.store("timelines"), units, ctx.seen,
                                                   event)
        self.irregular.of(outcome)
        if outcome.duplicate:
            return
        self.irregular.note([f"{d.event_id}: {d.event_type} names escalation "
                             f"{d.escalation_id}, which nobody raised"
                             for d in outcome.derived if isinstance(d, Unmatched)])
        for fact in outcome.derived:
            ctx.emit(fact)
        if tracked.written:
            self._written(ctx, units, tracked)

    @staticmethod
    def _written(ctx, units, tracked) -> None:
        open_ones, tallies = ctx.store("open"), ctx.store("tally")
        changes = []
        for unit_id in tracked.written:
            old = tracked.old(unit_id)
            before = old.escalations if old is not None else {}
            for eid, escalation in units[unit_id].escalations.items():
                was = before.get(eid)
                if was is escalation:
                    continue
                changes.append((was, escalation))
                now_open, was_open = escalation.is_open, was is not None and was.is_open
                if now_open and not was_open:
                    open_ones[eid] = unit_id
                elif was_open and not now_open:
                    del open_ones[eid]
        if changes:
            part = str(ctx.partition)
            tallies[part] = counted(tallies.get(part) or {}, changes)

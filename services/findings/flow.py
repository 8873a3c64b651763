"""What the findings service does with each record it reads, given its stores (no faust):

- ``on_event``: an inbound event through the deadline loop and the unit core; it emits the
  breaches of the general rule and of the follow-ups, and keeps them for the assessment at
  once;
- ``on_breach``: a breach another service emitted (``inspections.breaches``), kept for the
  assessment.
"""

from __future__ import annotations

from typing import Any

from kernel import ids
from kernel.breaches import Breach
from kernel.deadlines import Irregular, process_on_partition
from kernel.vocabulary import POLICY_ADOPTED
from services.findings.rules import FindingsCore
from services.findings.state import BreachSeen, Policy


def seen_of(breach: Breach, source: str) -> BreachSeen:
    """A breach as the findings service keeps it, from the fact (no wire form)."""
    return BreachSeen(ids.breach_event_id(breach.deadline_id), breach.unit_id, breach.kind,
                      breach.subject_id, breach.due, source)


class FindingsFlow:
    def __init__(self, policy: Policy, name: str = "findings") -> None:
        self.core = FindingsCore(policy)
        self.name = name
        self.irregular = Irregular()

    def on_event(self, ctx, event: Any) -> None:
        if event.type == POLICY_ADOPTED:  # none of its rules is the city's policy's
            return
        states = ctx.store("units")
        outcome, _, tracked = process_on_partition(self.core, ctx.partition,
                                                   ctx.store("timelines"), states, ctx.seen,
                                                   event, ctx.shown)
        self.irregular.of(outcome)
        if outcome.duplicate:
            return
        for breach in outcome.derived:
            ctx.emit(breach)
            states[breach.unit_id] = self.core.breach_read(states[breach.unit_id],
                                                           seen_of(breach, self.name))
        for unit_id in tracked.written:
            before, after = tracked.old(unit_id), states[unit_id]
            self.irregular.note(after.unmatched[len(before.unmatched) if before else 0:])

    def on_breach(self, ctx, breach: BreachSeen) -> None:
        states = ctx.store("units")
        before = states.get(breach.unit_id)
        after = self.core.breach_read(before or self.core.initial(breach.unit_id), breach)
        if after is not before:
            states[breach.unit_id] = after

"""What the escalation service does with each inbound event, given its stores (no faust): the
deadline loop and the unit core; it emits the ``escalation.raised`` / ``escalated`` notices,
``withdrawn`` notices, the breaches and the acknowledgements nobody's escalation matched. The
open register and the gauges' counts are derived from the escalations (the ``open`` index):
nothing else is kept."""

from __future__ import annotations

from typing import Any

from kernel.deadlines import Irregular, process_on_partition
from kernel.policy_log import PolicyCores
from kernel.vocabulary import POLICY_ADOPTED
from services.escalation.rules import EscalationCore, Policy, Unmatched


class EscalationFlow:
    """``policy``: the starting one; ``policies``: the city's policies the log adopts, each
    in force in a partition from its place on (``kernel.policy_log``)."""

    def __init__(self, policy: Policy, policies=None) -> None:
        self.cores = PolicyCores(policy, policies, EscalationCore)
        self.irregular = Irregular()

    def on_event(self, ctx, event: Any) -> None:
        if event.type == POLICY_ADOPTED:
            self.cores.adopt(ctx, event)
            return
        outcome, _, _ = process_on_partition(self.cores.at(ctx), ctx.partition,
                                             ctx.store("timelines"), ctx.store("units"),
                                             ctx.seen, event, ctx.shown)
        self.irregular.of(outcome)
        if outcome.duplicate:
            return
        self.irregular.note([f"{d.event_id}: {d.event_type} names escalation "
                             f"{d.escalation_id}, which nobody raised"
                             for d in outcome.derived if isinstance(d, Unmatched)])
        for fact in outcome.derived:
            ctx.emit(fact)

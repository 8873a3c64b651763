"""Helpers shared by the escalation unit tests: Run, events (finding, tick, ack), notices."""

from __future__ import annotations

from runtime.config.settings import Settings
from runtime.memory_runner.memory import Context
from runtime.memory_runner.stores import Seen
from services.escalation import config
from services.escalation.flow import EscalationFlow
from services.escalation.rules import Notice
from services.escalation.views import escalation_view, open_entry
from tests.unit.services.scheduler.support import ev

T = "2026-04-20T10:00:00+08:00"


class Run:
    """The escalation flow over events, in one process, its stores plain dicts."""

    def __init__(self, policy=None, policies=None):
        """``policies``: the city's policies the log adopts (``config.policies``); without
        them the flow runs ``policy`` (the seed's defaults) alone."""
        self.flow = (EscalationFlow(policies.starting, policies) if policies is not None
                     else EscalationFlow(policy or config.policy(Settings())))
        self.stores = {"units": {}, "timelines": {}, "policies": {}}
        self.states = self.stores["units"]
        self.derived, self.emitted = [], []
        self.context = Context(self.stores, Seen(), self.emitted.append)

    @property
    def store(self) -> dict:
        """Everything it keeps."""
        return self.stores

    def feed(self, *events, partition=0):
        new = []
        for e in events:
            self.context.partition = partition
            self.context.key = (None if e.type in ("clock.ticked", "policy.adopted")
                                else e.subject.encode())
            self.flow.on_event(self.context, e)
            new += self.emitted
            self.emitted.clear()
        self.derived += new
        return new

    def escalation(self, eid):
        (found,) = [s.escalations[eid] for s in self.states.values() if eid in s.escalations]
        return escalation_view(found)

    def open_counts(self) -> dict:
        """The open escalations by authority and level, as the gauges count the ``open``
        index."""
        found = {}
        for state in self.states.values():
            for escalation in state.escalations.values():
                if (entry := open_entry(state.unit_id, escalation)) is not None:
                    _, (_, authority, level, _) = entry
                    found[(authority, level)] = found.get((authority, level), 0) + 1
        return found


def finding(category, fid="F1", time=T, safety=False, listed=False):
    return ev("finding.recorded", time, finding_id=fid, category=category,
              cannot_ensure_safety=safety, listed_supervision_advised=listed)


def tick(time):
    return ev("clock.ticked", time)


def ack(eid, time, by="city_safety_office"):
    return ev("escalation.acknowledged", time, escalation_id=eid, by=by)


def notices(derived):
    return [(d.type, d.escalation.escalation_id, d.escalation.authority, d.escalation.level)
            for d in derived if isinstance(d, Notice)]

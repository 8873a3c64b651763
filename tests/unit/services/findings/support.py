"""Helpers shared by the findings unit tests: Run (the flow in one process) and finding."""

from __future__ import annotations

from runtime.config.settings import Settings
from runtime.handling.context import Context
from runtime.memory_runner.stores import Seen
from services.findings import config
from services.findings.app import read_breach
from services.findings.flow import FindingsFlow
from services.findings.views import finding_view
from tests.unit.services.scheduler.support import ev

T = "2026-04-20T10:30:00+08:00"


class Run:
    """The findings flow over events, in one process: its stores plain dicts; a
    ``deadline.breached`` fed goes in as the breaches topic's record does."""

    def __init__(self, policy=None):
        self.flow = FindingsFlow(policy or config.policy(Settings()))
        self.states, self.breaches, self.emitted = {}, [], []
        self.stores = {"units": self.states, "timelines": {}}
        self.context = Context(self.stores, Seen(), self.emitted.append)

    def feed(self, *events):
        new = []
        for e in events:
            if e.type == "deadline.breached":
                for breach in read_breach(e.model_dump_json().encode()):
                    self.flow.on_breach(self.context, breach)
            else:
                self.context.partition = 0
                self.context.key = (None if e.type in ("clock.ticked", "policy.adopted")
                                    else e.subject.encode())
                self.flow.on_event(self.context, e)
                new += self.emitted
                self.emitted.clear()
        self.breaches += new
        return new

    def finding(self, finding_id="F1"):
        (unit,) = [u for u, s in self.states.items() if finding_id in s.findings]
        return finding_view(unit, self.states[unit].findings[finding_id])


def finding(finding_id="F1", category="violation", time=T, **data):
    return ev("finding.recorded", time, finding_id=finding_id, category=category, **data)

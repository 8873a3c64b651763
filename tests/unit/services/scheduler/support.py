"""Helpers shared by the scheduler unit tests (and others): events, Run, campaign scenarios."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from kernel.breaches import Breach
from runtime.config.settings import Settings
from runtime.handling.context import Context
from runtime.memory_runner.stores import Seen
from schemas import DERIVED, INBOUND
from services.scheduler import config
from services.scheduler.flow import SchedulerFlow
from services.scheduler.rules import Policy
from services.scheduler.views import unit_view
from tests.examples import event

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = config.policy(Settings())
_ids = itertools.count()


def member(person_id: str, role: str = "member", trained: bool = True, **extra) -> dict:
    return {"person_id": person_id, "name": person_id, "role": role,
            "organization": "市安委会成员单位", "trained": trained, **extra}


def team(size: int = 8, **leader) -> dict:
    members = [member("p1", "leader", **{"rank": "division", "recently_retired": True,
                                         **leader}),
               member("p2", "deputy_leader")]
    members += [member(f"p{i}", "expert" if i == 3 else "member") for i in range(3, size + 1)]
    return {"team_id": "T1", "members": members[:size]}


def ev(event_type: str, time: str, unit: str = "changtai", id: str | None = None,
       **data):
    """A typed event of ``event_type`` at ``time`` for ``unit``, the example's data updated."""
    body = event(event_type, id=id or f"{event_type}#{next(_ids)}", time=time)
    if event_type not in ("campaign.planned", "clock.ticked", "policy.adopted"):
        body["subject"] = unit
        if "unit_id" in body["data"]:
            body["data"]["unit_id"] = unit
        for k in ("visit_id",):
            if k in body["data"]:
                body["data"][k] = f"visit-{unit}"
    body["data"].update(copy.deepcopy(data))
    if event_type == "visit.scheduled" and "team" not in data:
        body["data"]["team"] = team()
    return {**INBOUND, **DERIVED}[event_type].model_validate(body)


def schedule(unit="changtai", kind="county", townships=10, departments=20, at=None, **data):
    return ev("visit.scheduled", at or "2026-04-10T09:00:00+08:00", unit, unit_kind=kind,
              townships_total=townships, departments_total=departments, **data)


def sites(unit: str, kind: str, count: int, day="2026-04-20") -> list:
    return [ev("site.inspected", f"{day}T10:00:00+08:00", unit, site_kind=kind,
               site_id=f"{kind}-{i}", site_name=f"{kind} {i}") for i in range(count)]


class Run:
    """The scheduler's flow over events, all in one process: its stores plain dicts (the
    campaign side's ``store`` may be another mapping), each crossing handed to the campaign
    side as it comes (``forward=False``: kept, for ``forward`` later)."""

    def __init__(self, policy: Policy = POLICY, partitions: int = 1, store=None,
                 policies=None) -> None:
        """``policies``: the city's policies the log adopts (``config.policies``); without
        them the flow runs ``policy`` alone."""
        self.flow = SchedulerFlow(policy, partitions, policies)
        self.policy = policy
        self.timelines: dict = {}
        self.states: dict = {}
        self.store = {} if store is None else store  # the campaign side's
        self.stores = {"units": self.states, "timelines": self.timelines,
                       "campaigns": self.store, "policies": {}}
        self.seen_ids = Seen()
        self.breaches: list = []
        self.forwards: list = []
        self._emitted: list = []
        self.context = Context(self.stores, self.seen_ids, self._emitted.append)

    @property
    def units(self) -> dict:
        """Each unit's view, as the scheduler serves it."""
        return {u: unit_view(state, self.policy) for u, state in self.states.items()}

    def feed(self, *events, partition: int = 0, forward: bool = True) -> list:
        new = []
        for e in events:
            self.context.partition = partition
            self.context.key = (None if e.type in ("clock.ticked", "policy.adopted")
                                else e.subject.encode())
            self.flow.on_event(self.context, e)
            facts, self._emitted[:] = list(self._emitted), []
            new += [f for f in facts if isinstance(f, Breach)]
            crossings = [f for f in facts if not isinstance(f, Breach)]
            self.forwards += crossings
            if forward:
                new += self.forward(crossings, keep=False)
        self.breaches += new
        return new

    def forward(self, forwards, keep: bool = True) -> list:
        new = []
        for f in forwards:
            self.flow.on_crossing(self.context, f)
            new += self._emitted
            self._emitted.clear()
        if keep:
            self.breaches += new
        return new


def kinds(breaches) -> list[str]:
    return [b.kind for b in breaches]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- a campaign, and scenarios of one across partitions ------------------------------------
PLAN_UNITS = [
    {"unit_id": "changtai", "name": "长泰县", "kind": "county"},
    {"unit_id": "pinghe", "name": "平和县", "kind": "county"},
    {"unit_id": "taishang", "name": "台商投资区", "kind": "zone"},
]
DUE = "2026-12-31"


def plan(units=PLAN_UNITS, due=DUE):
    return ev("campaign.planned", "2026-04-01T09:00:00+08:00", units=units, coverage_due=due)


def visit(unit, start, end):
    return [schedule(unit), ev("visit.started", start, unit), ev("visit.ended", end, unit)]


def tick(t):
    return ev("clock.ticked", t)


UNITS = ["changtai", "pinghe", "nanjing", "taishang"]
BASE = datetime.fromisoformat("2026-04-18T09:00:00+08:00")


@st.composite
def scenarios(draw):
    """Per-partition event lists: a plan, visits of random length and coverage, feedback,
    reports in and out of time, ticks; two or three partitions."""
    partitions = draw(st.integers(2, 3))
    lists = {p: [] for p in range(partitions)}
    lists[0].append(plan([{"unit_id": u, "name": u, "kind": "zone" if u == "taishang"
                           else "county"} for u in UNITS], due="2026-06-30"))
    for unit in UNITS:
        p = draw(st.integers(0, partitions - 1))
        if not draw(st.booleans()):
            continue
        kind = "zone" if unit == "taishang" else "county"
        start = BASE + timedelta(days=draw(st.integers(0, 60)))
        end = start + timedelta(days=draw(st.integers(3, 14)), hours=draw(st.integers(0, 23)))
        events = [schedule(unit, kind, townships=0 if kind == "zone" else 10, departments=10),
                  ev("visit.started", start.isoformat(), unit)]
        for site_kind in ("township", "community", "department", "enterprise"):
            events += sites(unit, site_kind, draw(st.integers(0, 11)),
                            day=(start + timedelta(days=1)).date().isoformat())
        events.append(ev("visit.ended", end.isoformat(), unit))
        if draw(st.booleans()):
            feedback = end + timedelta(days=draw(st.integers(1, 20)))
            events.append(ev("feedback.delivered", feedback.isoformat(), unit))
            if draw(st.booleans()):
                report = feedback + timedelta(days=draw(st.integers(30, 90)))
                events.append(ev("rectification.report.submitted", report.isoformat(), unit))
        lists[p] += events
    # The city office's reports to the city government, on the campaign's partition.
    for n, (day, named) in enumerate(draw(st.lists(st.tuples(
            st.integers(60, 240), st.lists(st.sampled_from(UNITS), min_size=1, unique=True)),
            max_size=3))):
        lists[0].append(ev("status.report.submitted", (BASE + timedelta(days=day)).isoformat(),
                           "zhangzhou-2026", report_id=f"SR-{n}", unit_ids=named))
    for p in lists:
        for day in draw(st.lists(st.integers(0, 300), max_size=4)):
            lists[p].append(tick((BASE + timedelta(days=day)).isoformat()))
        lists[p].append(tick("2027-01-01T00:00:00+08:00"))
    return partitions, lists


def ids_of(breaches):
    return sorted((b.deadline_id, b.kind, b.due, b.breached_at, b.cause_id, b.detail)
                  for b in breaches)

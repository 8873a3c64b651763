"""Events and an in-process run of the scheduler for its unit tests."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from runtime.settings import Settings
from schemas import DERIVED, INBOUND
from services.scheduler import config
from services.scheduler.flow import CampaignFlow, UnitFlow
from services.scheduler.rules import Policy
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
    if event_type not in ("campaign.planned", "clock.ticked"):
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
    """The scheduler over a list of (partition, event), all in one process."""

    def __init__(self, policy: Policy = POLICY, partitions: int = 1, store=None) -> None:
        self.flow = UnitFlow(policy)
        self.campaign = CampaignFlow(policy.timezone, partitions)
        self.timelines: dict = {}
        self.states: dict = {}
        self.ids: set = set()
        self.store = {} if store is None else store  # the campaign side's
        self.units: dict = {}
        self.visits: dict = {}
        self.breaches: list = []
        self.forwards: list = []

    def seen(self, event_id: str) -> bool:
        if event_id in self.ids:
            return True
        self.ids.add(event_id)
        return False

    def feed(self, *events, partition: int = 0, forward: bool = True) -> list:
        new = []
        for e in events:
            breaches, forwards = self.flow.on_event(e, partition, self.timelines, self.states,
                                                    self.seen)
            new += breaches
            self.forwards += forwards
            if forward:
                for f in forwards:
                    new += self.campaign.on_forward(f, self.store, self.units, self.visits)
        self.breaches += new
        return new

    def forward(self, forwards) -> list:
        new = []
        for f in forwards:
            new += self.campaign.on_forward(f, self.store, self.units, self.visits)
        self.breaches += new
        return new


def kinds(breaches) -> list[str]:
    return [b.kind for b in breaches]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)

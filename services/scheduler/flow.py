"""What the scheduler does with one record, given where its state lives.

No faust, no Kafka: the faust app passes its tables, the replay tool and the tests pass dicts.
Two steps, as there are two topics:
- ``UnitFlow.on_event``: an event of ``inspections.events`` on its partition, through the
  deadline loop and the unit core; returns breaches and what to re-key to the campaign side.
- ``CampaignFlow.on_forward``: one of those re-keyed records, through the campaign core;
  returns breaches and keeps the cross-unit views.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from kernel.breaches import Breach
from kernel.dates import crossed_midnight
from kernel.deadlines import Irregular, Timeline, process_on_partition
from services.scheduler.campaign import (
    Campaign,
    CampaignCore,
    Completion,
    Mark,
    Plan,
    PlannedUnit,
    Watermarks,
    counted,
    coverage_due_at,
)
from services.scheduler.rules import Policy, SchedulerCore, UnitState
from services.scheduler.views import unit_view

WATERMARKS = "watermarks"
CAMPAIGN = "campaign:"  # and the campaign's id
OPEN = "open-campaigns"  # ids of the campaigns not yet judged, for the watermarks to visit
VISIT_TALLY = "tally:visit-status"  # in the visit index: visits by state


@dataclass(frozen=True)
class PlanForward:
    plan: Plan


@dataclass(frozen=True)
class UnitForward:
    unit_id: str
    view: dict | None  # None: not computed (a replay)
    completions: tuple[Completion, ...]


@dataclass(frozen=True)
class WatermarkForward:
    partition: int
    mark: Mark


Forward = PlanForward | UnitForward | WatermarkForward


def plan_of(event) -> Plan:
    d = event.data
    return Plan(
        campaign_id=d.campaign_id, year=d.year, title=d.title, coverage_due=d.coverage_due,
        units=tuple(PlannedUnit(u.unit_id, u.name, u.kind) for u in d.units),
        event_id=event.id, correlation_id=event.correlationid,
    )


def completions_of(state: UnitState) -> tuple[Completion, ...]:
    return tuple(
        Completion(v.campaign_id, state.unit_id, v.visit_id, v.ended_at, v.ended_stream_time)
        for v in state.visits.values()
        if v.campaign_id is not None and v.ended_at is not None
    )


class UnitFlow:
    """``views=False`` (the replay, which builds the views from the final states) forwards
    each written unit's completions without computing its view."""

    def __init__(self, policy: Policy, views: bool = True) -> None:
        self.policy = policy
        self.core = SchedulerCore(policy)
        self.views = views
        self.irregular = Irregular()

    def on_event(
        self,
        event: Any,
        partition: int,
        timelines: MutableMapping[int, Timeline],
        states: MutableMapping[str, UnitState],
        seen: Callable[[str], bool],
    ) -> tuple[tuple[Breach, ...], list[Forward]]:
        outcome, before, tracked = process_on_partition(self.core, partition, timelines,
                                                        states, seen, event)
        self.irregular.of(outcome)
        if outcome.duplicate:
            return (), []
        forwards: list[Forward] = []
        if event.type == "campaign.planned":
            forwards.append(PlanForward(plan_of(event)))
        for unit_id in tracked.written:
            state = states[unit_id]
            old = tracked.old(unit_id)
            self.irregular.note(state.anomalies[len(old.anomalies) if old else 0:])
            forwards.append(UnitForward(
                unit_id, unit_view(state, self.policy) if self.views else None,
                completions_of(state)))
        # After the unit's news, so that the campaign side hears of an end before the
        # watermark that could close the campaign.
        if crossed_midnight(before.stream_time, outcome.timeline.stream_time,
                            self.policy.timezone):
            forwards.append(WatermarkForward(partition, Mark(outcome.timeline.stream_time,
                                                             event.id)))
        return outcome.derived, forwards


class CampaignFlow:
    """``store`` holds the watermarks, each campaign (``campaign:<id>``) and the open ones."""

    def __init__(self, tz: tzinfo, partitions: int) -> None:
        self.tz = tz
        self.core = CampaignCore(tz, partitions)

    def on_forward(
        self,
        forward: Forward,
        store: MutableMapping[str, Any],
        units: MutableMapping[str, dict],
        visits: MutableMapping[str, str],
    ) -> list[Breach]:
        marks: Watermarks = store.get(WATERMARKS) or Watermarks()
        breaches: list[Breach] = []
        if isinstance(forward, PlanForward):
            campaign = self._campaign(store, forward.plan.campaign_id)
            campaign, breaches = self.core.planned(campaign, forward.plan, marks)
            self._put(store, campaign)
        elif isinstance(forward, UnitForward):
            for campaign_id in sorted({c.campaign_id for c in forward.completions}):
                campaign = self._campaign(store, campaign_id)
                updated = self.core.visits_ended(campaign, forward.unit_id, forward.completions)
                if updated is not campaign:
                    self._put(store, updated)
            if forward.view is not None:
                self.unit_viewed(forward.unit_id, forward.view, units, visits)
        else:
            updated = marks.add(forward.partition, forward.mark)
            if updated is not marks:
                store[WATERMARKS] = updated
                for campaign_id in store.get(OPEN) or ():
                    before = self._campaign(store, campaign_id)
                    campaign, found = self.core.watermark(before, forward.partition,
                                                          forward.mark)
                    if campaign is not before:
                        self._put(store, campaign)
                    breaches += found
        return breaches

    @staticmethod
    def unit_viewed(unit_id: str, view: dict, units: MutableMapping[str, dict],
                    visits: MutableMapping[str, Any]) -> None:
        """Keep a unit's latest view, which unit each of its visits belongs to, and the
        count of visits in each state (``visits[VISIT_TALLY]``, so that the gauges never
        count the views)."""
        old = units.get(unit_id)
        units[unit_id] = view
        for visit in view["visits"]:
            if visits.get(visit["visit_id"]) != unit_id:
                visits[visit["visit_id"]] = unit_id
        before = [v["status"] for v in old["visits"]] if old else []
        after = [v["status"] for v in view["visits"]]
        if sorted(before) != sorted(after):
            tally = dict(visits.get(VISIT_TALLY) or {})
            for statuses, step in ((before, -1), (after, 1)):
                for status in statuses:
                    tally[status] = tally.get(status, 0) + step
                    if tally[status] == 0:
                        del tally[status]
            visits[VISIT_TALLY] = tally

    @staticmethod
    def _campaign(store, campaign_id: str) -> Campaign:
        return store.get(f"{CAMPAIGN}{campaign_id}") or Campaign(campaign_id)

    @staticmethod
    def _put(store, campaign: Campaign) -> None:
        store[f"{CAMPAIGN}{campaign.campaign_id}"] = campaign
        open_ids = tuple(store.get(OPEN) or ())
        want = campaign.plan is not None and campaign.judged_at is None
        if want and campaign.campaign_id not in open_ids:
            store[OPEN] = (*open_ids, campaign.campaign_id)
        elif not want and campaign.campaign_id in open_ids:
            store[OPEN] = tuple(i for i in open_ids if i != campaign.campaign_id)


def campaign_view(campaign: Campaign | None, units: MutableMapping, tz: tzinfo) -> dict | None:
    """A campaign: its plan, each planned unit with its visits, coverage, breaches."""
    if campaign is None or campaign.plan is None:
        return None
    plan = campaign.plan
    due = coverage_due_at(plan.coverage_due, tz)
    rows = []
    for unit in plan.units:
        view = units.get(unit.unit_id) or {"visits": [], "breaches": [], "anomalies": []}
        rows.append({
            "unit_id": unit.unit_id, "name": unit.name, "kind": unit.kind,
            "inspected_in_time": any(counted(c, due)
                                     for c in campaign.completions.get(unit.unit_id, ())),
            "visits": [v for v in view["visits"] if v["campaign_id"] == plan.campaign_id],
            "breaches": view["breaches"]
            + (["campaign_coverage_incomplete"] if unit.unit_id in campaign.missing else []),
        })
    inspected = sum(1 for r in rows if r["inspected_in_time"])
    return {
        "campaign_id": plan.campaign_id, "title": plan.title, "year": plan.year,
        "coverage_due": plan.coverage_due.isoformat(), "due_at": due.isoformat(),
        "units_planned": len(rows), "units_inspected": inspected,
        "coverage": inspected / len(rows) if rows else 1.0,
        "judged_at": None if campaign.judged_at is None else campaign.judged_at.isoformat(),
        "units_missing": list(campaign.missing),
        "partitions_past_due": sorted(campaign.passed),
        "units": rows,
    }


def visit_counts(visits: MutableMapping[str, Any]) -> dict[str, int]:
    """How many visits are in each state (the visit index's tally)."""
    return dict(visits.get(VISIT_TALLY) or {})


def campaign_list_view(store: MutableMapping, units: MutableMapping, tz: tzinfo) -> list[dict]:
    """Every planned campaign, without its unit rows, by id."""
    found = []
    for key in sorted(k for k in store if k.startswith("campaign:")):
        view = campaign_view(store[key], units, tz)
        if view is not None:
            found.append({k: v for k, v in view.items() if k != "units"})
    return found


def campaign_coverage(store: MutableMapping, units: MutableMapping, tz: tzinfo) -> dict[str, float]:
    """Each planned campaign's share of units inspected in time so far."""
    return {c["campaign_id"]: c["coverage"] for c in campaign_list_view(store, units, tz)}

"""Campaign coverage (全覆盖), judged across partitions.

Pure: standard library only. Rule: every planned unit is inspected — its visit has ended —
by the end of ``coverage_due`` in the campaign's time zone (the next midnight; a visit ended
at that instant is in time).

The units of a campaign live on different partitions, so each partition's scheduler re-keys
what the campaign needs to one place: the plan, each visit's end, and a watermark whenever its
stream time passes a midnight. The campaign is judged once every partition's stream time has
passed the due time; a visit counts only if its end was applied while its own partition had
not yet passed the due time. Both make the result independent of how partitions interleave.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from kernel import ids
from kernel.breaches import Breach
from kernel.dates import end_of_day
from kernel.frozen import evolve

KIND = "campaign_coverage_incomplete"


@dataclass(frozen=True)
class PlannedUnit:
    unit_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Plan:
    campaign_id: str
    year: int
    title: str
    coverage_due: date
    units: tuple[PlannedUnit, ...]
    event_id: str
    correlation_id: str | None = None


@dataclass(frozen=True)
class Completion:
    """A visit's end as its partition applied it."""

    campaign_id: str
    unit_id: str
    visit_id: str
    ended_at: datetime
    stream_time: datetime


@dataclass(frozen=True)
class Mark:
    """A partition's stream time, and the event that moved it there."""

    time: datetime
    event_id: str


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    plan: Plan | None = None
    completions: dict[str, tuple[Completion, ...]] = field(default_factory=dict)
    passed: dict[int, Mark] = field(default_factory=dict)  # partition -> first mark past due
    judged_at: datetime | None = None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Watermarks:
    """Each partition's stream time at every midnight it passed, in order."""

    history: dict[int, tuple[Mark, ...]] = field(default_factory=dict)

    def add(self, partition: int, mark: Mark) -> Watermarks:
        marks = self.history.get(partition, ())
        if marks and mark.time <= marks[-1].time:
            return self
        return Watermarks({**self.history, partition: (*marks, mark)})

    def first_past(self, partition: int, due: datetime) -> Mark | None:
        marks = self.history.get(partition, ())
        at = bisect_right(marks, due, key=lambda m: m.time)  # marks are in time order
        return marks[at] if at < len(marks) else None

    def floor(self, partitions: int) -> datetime | None:
        """The earliest of the partitions' latest marks (None: one has none yet): every
        partition has passed a time before it."""
        latest = [marks[-1].time if (marks := self.history.get(p)) else None
                  for p in range(partitions)]
        return None if None in latest else min(latest)


def coverage_due_at(day: date, tz: tzinfo) -> datetime:
    """When coverage is due: the end of ``coverage_due`` (the next midnight in ``tz``)."""
    return end_of_day(day, tz)


def counted(completion: Completion, due: datetime) -> bool:
    return completion.ended_at <= due and completion.stream_time <= due


class CampaignCore:
    """Judges one campaign from its plan, its units' visit ends and the watermarks."""

    def __init__(self, tz: tzinfo, partitions: int) -> None:
        self.tz = tz
        self.partitions = partitions

    def due(self, campaign: Campaign) -> datetime:
        return coverage_due_at(campaign.plan.coverage_due, self.tz)

    def planned(self, campaign: Campaign, plan: Plan,
                marks: Watermarks) -> tuple[Campaign, list[Breach]]:
        if campaign.judged_at is not None:
            return campaign, []
        campaign = evolve(campaign, plan=plan)
        due = self.due(campaign)
        # From the history, not the latest marks: a plan that arrives after some partitions
        # passed its due gets the same answer whenever it arrives.
        passed = {p: m for p in marks.history if (m := marks.first_past(p, due)) is not None}
        return self._judge(evolve(campaign, passed=passed))

    def visits_ended(self, campaign: Campaign, unit_id: str,
                     completions: tuple[Completion, ...]) -> Campaign:
        """The current set of one unit's ended visits (it replaces: idempotent)."""
        mine = tuple(c for c in completions if c.campaign_id == campaign.campaign_id)
        if campaign.completions.get(unit_id, ()) == mine:
            return campaign
        return evolve(campaign, completions={**campaign.completions, unit_id: mine})

    def watermark(self, campaign: Campaign, partition: int,
                  mark: Mark) -> tuple[Campaign, list[Breach]]:
        if (campaign.plan is None or campaign.judged_at is not None
                or partition in campaign.passed or mark.time <= self.due(campaign)):
            return campaign, []
        return self._judge(evolve(campaign, passed={**campaign.passed, partition: mark}))

    def _judge(self, campaign: Campaign) -> tuple[Campaign, list[Breach]]:
        if campaign.plan is None or len(campaign.passed) < self.partitions:
            return campaign, []
        plan, due = campaign.plan, self.due(campaign)
        last = max(campaign.passed.values(), key=lambda m: (m.time, m.event_id))
        missing = tuple(
            u.unit_id for u in plan.units
            if not any(counted(c, due) for c in campaign.completions.get(u.unit_id, ()))
        )
        breaches = [
            Breach(
                deadline_id=ids.campaign_deadline(plan.campaign_id, unit_id, KIND), kind=KIND, unit_id=unit_id,
                subject_id=plan.campaign_id, due=due, breached_at=last.time,
                cause_id=last.event_id, correlation_id=plan.correlation_id,
                detail=f"no visit to {unit_id} ended by {due.isoformat()}",
            )
            for unit_id in missing
        ]
        return evolve(campaign, judged_at=last.time, missing=missing), breaches

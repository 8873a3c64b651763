"""Campaign coverage across partitions, and the invariants of the whole scheduler core."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.dates import crossed_midnight
from services.scheduler.campaign import coverage_due_at
from tests.unit.scheduler.helpers import SHANGHAI, Run, at, ev, kinds, schedule, sites

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


def test_the_due_is_the_next_midnight_in_shanghai():
    assert coverage_due_at(at("2026-12-31T00:00:00+08:00").date(), SHANGHAI) == at(
        "2027-01-01T00:00:00+08:00")
    assert crossed_midnight(at("2026-12-31T23:59:00+08:00"), at("2027-01-01T00:00:00+08:00"),
                            SHANGHAI) is False
    assert crossed_midnight(at("2027-01-01T00:00:00+08:00"), at("2027-01-01T00:00:01+08:00"),
                            SHANGHAI) is True


def test_units_not_inspected_by_the_due_are_breaches_once_every_partition_has_passed():
    run = Run(partitions=2)
    run.feed(plan(), *visit("changtai", "2026-04-18T09:00:00+08:00",
                            "2027-01-01T00:00:00+08:00"), partition=0)   # exactly at due: in time
    run.feed(*visit("pinghe", "2026-12-20T09:00:00+08:00", "2027-01-01T00:00:01+08:00"),
             partition=1)  # one second late; it also moved partition 1 past the due
    assert "campaign_coverage_incomplete" not in kinds(run.breaches)
    # Partition 0 at the due is not past it: no judgement yet.
    assert run.feed(tick("2027-01-01T00:00:00+08:00"), partition=0) == []
    last = tick("2027-01-01T00:01:00+08:00")
    found = run.feed(last, partition=0)
    assert sorted(b.unit_id for b in found) == ["pinghe", "taishang"]
    for b in found:
        assert b.kind == "campaign_coverage_incomplete"
        assert b.subject_id == "zhangzhou-2026"
        assert b.due == at("2027-01-01T00:00:00+08:00")
        assert b.breached_at == at("2027-01-01T00:01:00+08:00") and b.cause_id == last.id
    assert run.feed(tick("2027-02-01T00:00:00+08:00"), partition=0) == []
    assert run.feed(tick("2027-02-01T00:00:00+08:00"), partition=1) == []


def test_an_end_applied_after_its_partition_passed_the_due_does_not_count():
    run = Run(partitions=2)
    run.feed(plan(PLAN_UNITS[:1]), schedule("changtai"),
             ev("visit.started", "2026-12-20T09:00:00+08:00"), partition=0)
    run.feed(tick("2027-01-02T00:00:00+08:00"), partition=0)
    # Ends in time by its own clock, but arrives after the partition's time passed the due.
    run.feed(ev("visit.ended", "2026-12-31T12:00:00+08:00"), partition=0)
    found = run.feed(tick("2027-01-02T00:00:00+08:00"), partition=1)
    assert [b.unit_id for b in found] == ["changtai"]


# -- invariants ----------------------------------------------------------------------------
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
    for p in lists:
        for day in draw(st.lists(st.integers(0, 300), max_size=4)):
            lists[p].append(tick((BASE + timedelta(days=day)).isoformat()))
        lists[p].append(tick("2027-01-01T00:00:00+08:00"))
    return partitions, lists


def _ids(breaches):
    return sorted((b.deadline_id, b.kind, b.due, b.breached_at, b.cause_id, b.detail)
                  for b in breaches)


def _unit_side(partitions, lists):
    run = Run(partitions=partitions)
    forwards = {}
    for p, events in lists.items():
        before = len(run.forwards)
        run.feed(*events, partition=p, forward=False)
        forwards[p] = run.forwards[before:]
    return run, forwards


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_any_interleaving_of_partitions_gives_the_same_campaign_result(scenario, rnd):
    partitions, lists = scenario
    run, forwards = _unit_side(partitions, lists)
    in_order = [f for p in sorted(forwards) for f in forwards[p]]
    reference = Run(partitions=partitions)
    expected = _ids(reference.forward(in_order))
    # Another interleaving that keeps each partition's own order.
    queues = {p: list(fs) for p, fs in forwards.items()}
    mixed = []
    while any(queues.values()):
        p = rnd.choice([p for p, q in queues.items() if q])
        mixed.append(queues[p].pop(0))
    other = Run(partitions=partitions)
    assert _ids(other.forward(mixed)) == expected
    assert other.store == reference.store  # the campaign side's state


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_the_same_events_twice_give_identical_outputs(scenario):
    partitions, lists = scenario
    first, second = Run(partitions=partitions), Run(partitions=partitions)
    for run in (first, second):
        for p, events in lists.items():
            run.feed(*events, partition=p)
    assert _ids(first.breaches) == _ids(second.breaches)
    assert first.states == second.states and first.units == second.units
    assert first.forwards == second.forwards


@settings(max_examples=40, deadline=None)
@given(scenarios(), st.data())
def test_duplicates_change_nothing(scenario, data):
    partitions, lists = scenario
    clean = Run(partitions=partitions)
    for p, events in lists.items():
        clean.feed(*events, partition=p)
    doubled = Run(partitions=partitions)
    for p, events in lists.items():
        noisy = []
        for e in events:
            noisy.append(e)
            if data.draw(st.booleans()):
                noisy.append(e)  # redelivered right away
        repeat = data.draw(st.lists(st.sampled_from(events), max_size=3))
        doubled.feed(*noisy, *repeat, partition=p)  # and some again at the end
    assert _ids(doubled.breaches) == _ids(clean.breaches)
    assert doubled.units == clean.units
    assert len({b.deadline_id for b in doubled.breaches}) == len(doubled.breaches)


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_each_partitions_tally_of_visits_by_state_is_a_count_of_its_units_visits(scenario):
    partitions, lists = scenario
    run = Run(partitions=partitions)
    recount: dict[str, dict[str, int]] = {}
    for p, events in lists.items():
        run.feed(*events, partition=p)
        for unit in {e.subject for e in events if e.type != "clock.ticked"}:
            if unit in run.states:
                for visit in run.states[unit].visits.values():
                    counts = recount.setdefault(str(p), {})
                    counts[visit.status] = counts.get(visit.status, 0) + 1
    assert run.stores["tally"] == {p: c for p, c in recount.items() if c}

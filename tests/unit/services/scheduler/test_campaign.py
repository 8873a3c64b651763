"""Campaign coverage across partitions, and the invariants of the whole scheduler core."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.dates import crossed_midnight
from services.scheduler.campaign import coverage_due_at
from services.scheduler.rules import open_deadlines
from tests.unit.services.scheduler.support import (
    PLAN_UNITS,
    SHANGHAI,
    Run,
    at,
    ev,
    ids_of,
    kinds,
    plan,
    scenarios,
    schedule,
    tick,
    visit,
)


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
    expected = ids_of(reference.forward(in_order))
    # Another interleaving that keeps each partition's own order.
    queues = {p: list(fs) for p, fs in forwards.items()}
    mixed = []
    while any(queues.values()):
        p = rnd.choice([p for p, q in queues.items() if q])
        mixed.append(queues[p].pop(0))
    other = Run(partitions=partitions)
    assert ids_of(other.forward(mixed)) == expected
    assert other.store == reference.store  # the campaign side's state


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_the_same_events_twice_give_identical_outputs(scenario):
    partitions, lists = scenario
    first, second = Run(partitions=partitions), Run(partitions=partitions)
    for run in (first, second):
        for p, events in lists.items():
            run.feed(*events, partition=p)
    assert ids_of(first.breaches) == ids_of(second.breaches)
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
    assert ids_of(doubled.breaches) == ids_of(clean.breaches)
    assert doubled.units == clean.units
    assert len({b.deadline_id for b in doubled.breaches}) == len(doubled.breaches)


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_the_deadlines_a_worker_reads_back_from_the_visits_are_the_ones_kept(scenario):
    """A worker writes no deadline of its own: after a restart it makes each partition's
    timeline from its units' visits (``open_deadlines``); however the events go, those are
    the deadlines the loop holds open."""
    partitions, lists = scenario
    run = Run(partitions=partitions)
    for p, events in lists.items():
        units = {e.subject for e in events if e.type != "clock.ticked"}
        for e in events:
            run.feed(e, partition=p)
            timeline = run.timelines.get(p)
            held = [] if timeline is None else [(d.due, d.deadline_id, d.key)
                                                for d in timeline.pending]
            read_back = sorted((d.due, d.deadline_id, d.key) for unit in units
                               if unit in run.states for d in open_deadlines(run.states[unit]))
            assert held == read_back


# -- the report to the city government (报告市政府) ----------------------------------------------
def _reported(run, unit, partition, report="2026-07-20T15:00:00+08:00"):
    run.feed(*visit(unit, "2026-04-18T09:00:00+08:00", "2026-04-28T17:00:00+08:00"),
             ev("feedback.delivered", "2026-05-20T15:00:00+08:00", unit),
             ev("rectification.report.submitted", report, unit), partition=partition)


def status(time, *units, n=1):
    return ev("status.report.submitted", time, "zhangzhou-2026", report_id=f"SR-{n}",
              unit_ids=list(units))


def test_each_reported_unit_is_named_in_a_status_report_within_a_month_or_it_is_a_breach():
    run = Run(partitions=2)
    run.feed(plan(), partition=0)
    _reported(run, "changtai", 1)  # reported 20 July: a status report due by 20 August
    _reported(run, "pinghe", 1, report="2026-07-15T15:00:00+08:00")
    # One status report at the due time, naming changtai only; one before pinghe reported.
    run.feed(status("2026-07-14T09:00:00+08:00", "pinghe", n=1),
             status("2026-08-20T15:00:00+08:00", "changtai", n=2), partition=0)
    # Partition 0 has passed pinghe's due (15 August); once partition 1 has too, it is judged.
    found = run.feed(tick("2026-08-31T00:00:00+08:00"), partition=1)
    assert [(b.kind, b.unit_id, b.subject_id) for b in found] == [
        ("status_report_overdue", "pinghe", "visit-pinghe")]
    assert found[0].due == at("2026-08-15T15:00:00+08:00")
    assert found[0].deadline_id == "visit-pinghe:status_report"
    assert run.feed(tick("2026-10-01T00:00:00+08:00"), partition=0) == []  # once
    assert run.feed(tick("2026-10-01T00:00:00+08:00"), partition=1) == []


def test_a_unit_whose_report_never_came_is_owed_from_the_report_due_and_it_can_be_turned_off():
    from dataclasses import replace

    from tests.unit.services.scheduler.support import POLICY

    for months, expected in ((1, ["status_report_overdue"]), (0, [])):
        run = Run(replace(POLICY, status_report_months=months), partitions=1)
        run.feed(plan(), *visit("changtai", "2026-04-18T09:00:00+08:00",
                                "2026-04-28T17:00:00+08:00"),
                 ev("feedback.delivered", "2026-05-20T15:00:00+08:00"))
        # The report fell due 20 July (a breach of its own); a status report by 20 August:
        # one a second late is a breach at once (its time passed the due).
        found = [b for b in run.feed(status("2026-08-20T15:00:01+08:00", "changtai"),
                                     tick("2026-09-01T00:00:00+08:00"))
                 if b.kind == "status_report_overdue"]
        assert kinds(found) == expected


def test_a_units_status_owed_sent_again_after_a_restart_changes_nothing():
    """A worker killed mid-batch sends again what it had sent: an older message of a unit's
    visits (its report's due time, before the report came) after the newer one."""
    run = Run(partitions=2)
    run.feed(plan(), partition=0)
    _reported(run, "changtai", 1, report="2026-07-10T15:00:00+08:00")  # owed from its due
    # time (20 July), then from the report (10 July)
    older, newer = [f for f in run.forwards if type(f).__name__ == "ReportsOwed"][:2]
    run.feed(status("2026-08-05T09:00:00+08:00", "changtai"), partition=0)
    run.forward([older])  # the stale one, again
    run.feed(tick("2026-12-01T00:00:00+08:00"), partition=0)
    assert "status_report_overdue" not in kinds(
        run.feed(tick("2026-12-01T00:00:00+08:00"), partition=1))
    owed = run.store["status:zhangzhou-2026"].owed["visit-changtai"]
    assert owed.covered_by == "SR-1" and owed.since == at("2026-07-10T15:00:00+08:00")


def test_a_flood_of_campaigns_and_visits_owing_status_reports_is_kept_within_bounds(
        monkeypatch):
    from kernel import capacity

    monkeypatch.setattr(capacity, "STATUS_CAMPAIGNS", 2)
    monkeypatch.setattr(capacity, "STATUS_OWED", 1)
    run = Run(partitions=1)
    for n in range(3):
        run.feed(ev("status.report.submitted", "2026-07-01T09:00:00+08:00", f"c-{n}",
                    report_id="SR", campaign_id=f"c-{n}", unit_ids=["changtai"]))
    assert sorted(k for k in run.store if k.startswith("status:")) == ["status:c-0",
                                                                       "status:c-1"]
    counts, notes = run.flow.irregular.drain()
    assert any("campaign c-2 are not kept" in n for n in notes)
    monkeypatch.setattr(capacity, "STATUS_CAMPAIGNS", 1000)
    run = Run(partitions=1)
    for unit in ("changtai", "pinghe"):
        run.feed(*visit(unit, "2026-04-18T09:00:00+08:00", "2026-04-28T17:00:00+08:00"),
                 ev("feedback.delivered", "2026-05-20T15:00:00+08:00", unit))
    assert list(run.store["status:zhangzhou-2026"].owed) == ["visit-changtai"]

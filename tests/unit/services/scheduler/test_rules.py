"""The scheduler's rules and their boundaries, on the pure core."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kernel.dates import add_months
from runtime.config.settings import Settings
from services.scheduler import config
from services.scheduler.rules import Reach
from tests.unit.services.scheduler.support import (
    POLICY,
    SHANGHAI,
    Run,
    at,
    ev,
    kinds,
    member,
    schedule,
    sites,
    team,
)

START = "2026-04-18T09:00:00+08:00"


def full_county_sites(unit="changtai", townships=6, departments=10, enterprises=10):
    return (sites(unit, "township", townships) + sites(unit, "department", departments)
            + sites(unit, "enterprise", enterprises))


def full_zone_sites(unit="taishang", communities=4, departments=6, enterprises=8):
    return (sites(unit, "community", communities) + sites(unit, "department", departments)
            + sites(unit, "enterprise", enterprises))


def county_visit(end="2026-04-28T17:00:00+08:00", **counts):
    run = Run()
    run.feed(schedule(), ev("visit.started", START), *full_county_sites(**counts))
    return run, run.feed(ev("visit.ended", end))


# -- team composition, at visit start ------------------------------------------------------
def test_a_team_of_eight_with_one_leader_and_one_deputy_all_trained_passes():
    run = Run()
    assert run.feed(schedule(), ev("visit.started", START)) == []


@pytest.mark.parametrize(("size", "ok"), [(5, False), (6, True), (10, True), (11, False)])
def test_team_size_bounds_are_inclusive(size, ok):
    run = Run()
    breaches = run.feed(schedule(team=team(size)), ev("visit.started", START))
    assert kinds(breaches) == ([] if ok else ["team_composition_invalid"])
    if not ok:
        assert breaches[0].detail.startswith(f"team of {size}, 6 to 10 expected")


def test_two_leaders_no_deputy_and_an_untrained_member_are_one_breach_saying_all():
    members = [member("p1", "leader"), member("p2", "leader"), member("p3", trained=False)]
    members += [member(f"p{i}") for i in range(4, 9)]
    breaches = Run().feed(schedule(team={"team_id": "T", "members": members}),
                          ev("visit.started", START))
    assert kinds(breaches) == ["team_composition_invalid"]
    assert breaches[0].detail == ("2 leader members, exactly 1 expected; 0 deputy_leader "
                                  "members, exactly 1 expected; 0 expert members, at least 1 "
                                  "expected; not trained: p3")
    assert breaches[0].due == breaches[0].breached_at == at(START)
    assert breaches[0].subject_id == "visit-changtai"


def test_the_leader_must_be_a_recently_retired_division_cadre_where_the_plan_says():
    wrong_rank = Run().feed(schedule(team=team(8, rank="section")), ev("visit.started", START))
    assert "leader p1 is of section rank" in wrong_rank[0].detail
    still_serving = Run().feed(schedule(team=team(8, recently_retired=False)),
                               ev("visit.started", START))
    assert "not recently retired" in still_serving[0].detail
    unsaid = team(8)
    del unsaid["members"][0]["rank"], unsaid["members"][0]["recently_retired"]
    assert Run().feed(schedule(team=unsaid), ev("visit.started", START)) == []


# -- days on site, at visit end -------------------------------------------------------------
def test_18_to_28_april_is_ten_days_and_passes_a_county():
    _, breaches = county_visit(end="2026-04-28T09:00:00+08:00")
    assert breaches == []


def test_nine_days_is_too_short_for_a_county():
    _, breaches = county_visit(end="2026-04-27T23:59:59+08:00")
    assert kinds(breaches) == ["visit_too_short"]
    assert breaches[0].detail == "9 days on site, at least 10"


def test_days_are_counted_in_shanghai_dates_whatever_the_offset_sent():
    # 2026-04-27T16:30Z is 28 April 00:30 in Shanghai: ten days.
    _, breaches = county_visit(end="2026-04-27T16:30:00+00:00")
    assert breaches == []


def test_a_zone_needs_six_days():
    for end, expected in (("2026-04-24T12:00:00+08:00", []),
                          ("2026-04-23T12:00:00+08:00", ["visit_too_short"])):
        run = Run()
        run.feed(schedule("taishang", "zone", townships=0, departments=10),
                 ev("visit.started", START, "taishang"), *full_zone_sites())
        assert kinds(run.feed(ev("visit.ended", end, "taishang"))) == expected


# -- coverage, at visit end ----------------------------------------------------------------
@pytest.mark.parametrize(("visited", "total", "ok"), [(60, 100, True), (59, 100, False),
                                                      (6, 10, True), (5, 10, False)])
def test_township_coverage_at_exactly_sixty_percent_passes(visited, total, ok):
    run = Run()
    run.feed(schedule(townships=total), ev("visit.started", START),
             *full_county_sites(townships=visited))
    breaches = run.feed(ev("visit.ended", "2026-04-28T17:00:00+08:00"))
    assert kinds(breaches) == ([] if ok else ["township_coverage_short"])


def test_department_coverage_fifty_percent_for_a_county():
    _, ok = county_visit(departments=10)
    assert ok == []
    _, short = county_visit(departments=9)
    assert kinds(short) == ["department_coverage_short"]
    assert short[0].detail == "9 of 20 departments (45 %), at least 50 %"


def test_ten_enterprises_for_a_county():
    _, short = county_visit(enterprises=9)
    assert kinds(short) == ["enterprise_coverage_short"]
    assert short[0].detail == "9 enterprises, at least 10"


@pytest.mark.parametrize(("counts", "expected"), [
    ({}, []),
    ({"communities": 3}, ["community_coverage_short"]),
    ({"departments": 5}, ["department_coverage_short"]),
    ({"enterprises": 7}, ["enterprise_coverage_short"]),
    ({"communities": 0, "departments": 0, "enterprises": 0},
     ["community_coverage_short", "department_coverage_short", "enterprise_coverage_short"]),
])
def test_zone_coverage(counts, expected):
    run = Run()
    run.feed(schedule("taishang", "zone", townships=0, departments=10),
             ev("visit.started", START, "taishang"), *full_zone_sites(**counts))
    assert kinds(run.feed(ev("visit.ended", "2026-04-28T17:00:00+08:00", "taishang"))) == expected


def test_a_site_visited_twice_counts_once():
    run = Run()
    run.feed(schedule(), ev("visit.started", START), *full_county_sites(enterprises=9),
             *sites("changtai", "enterprise", 9))
    assert kinds(run.feed(ev("visit.ended", "2026-04-28T17:00:00+08:00"))) == [
        "enterprise_coverage_short"]


def test_thresholds_are_settings():
    lenient = config.policy(Settings(county_min_days=5, county_township_share=50,
                                     county_department_share=25, county_min_enterprises=3))
    run = Run(lenient)
    run.feed(schedule(), ev("visit.started", START),
             *full_county_sites(townships=5, departments=5, enterprises=3))
    assert run.feed(ev("visit.ended", "2026-04-23T17:00:00+08:00")) == []


def test_each_visit_breach_id_is_stable_and_names_its_rule():
    _, first = county_visit(end="2026-04-20T17:00:00+08:00", enterprises=1)
    _, again = county_visit(end="2026-04-20T17:00:00+08:00", enterprises=1)
    assert [b.deadline_id for b in first] == ["visit-changtai:visit_too_short",
                                              "visit-changtai:enterprise_coverage_short"]
    assert [(b.deadline_id, b.due, b.detail) for b in first] == [
        (b.deadline_id, b.due, b.detail) for b in again]


# -- the rectification report --------------------------------------------------------------
@pytest.mark.parametrize(("feedback", "due"), [
    ("2026-05-20T15:00:00+08:00", "2026-07-20T15:00:00+08:00"),
    ("2026-12-31T10:00:00+08:00", "2027-02-28T10:00:00+08:00"),  # common year
    ("2027-12-31T10:00:00+08:00", "2028-02-29T10:00:00+08:00"),  # leap year
    ("2026-08-31T10:00:00+08:00", "2026-10-31T10:00:00+08:00"),
    ("2026-10-31T10:00:00+08:00", "2026-12-31T10:00:00+08:00"),
    ("2026-12-30T23:30:00+00:00", "2027-02-28T07:30:00+08:00"),  # 31 Dec in Shanghai
])
def test_report_due_two_calendar_months_after_feedback(feedback, due):
    assert add_months(at(feedback), 2, SHANGHAI) == at(due)


def _after_feedback(feedback="2026-05-20T15:00:00+08:00"):
    run = Run()
    run.feed(schedule(), ev("visit.started", START), *full_county_sites(),
             ev("visit.ended", "2026-04-28T17:00:00+08:00"), ev("feedback.delivered", feedback))
    return run


def test_a_report_exactly_at_due_is_in_time():
    run = _after_feedback()
    assert run.feed(ev("rectification.report.submitted", "2026-07-20T15:00:00+08:00")) == []
    # (the status report to the city government it then owes, a month on, is not sent here)
    assert kinds(run.feed(ev("clock.ticked", "2026-09-01T00:00:00+08:00"))) == [
        "status_report_overdue"]
    view = run.units["changtai"]["visits"][0]
    assert view["status"] == "reported" and view["report_on_time"] is True


def test_a_report_one_second_late_is_a_breach_first_then_recorded():
    run = _after_feedback()
    late = ev("rectification.report.submitted", "2026-07-20T15:00:01+08:00")
    breaches = run.feed(late)
    assert kinds(breaches) == ["rectification_report_overdue"]
    b = breaches[0]
    assert (b.due, b.breached_at, b.cause_id) == (at("2026-07-20T15:00:00+08:00"),
                                                  at("2026-07-20T15:00:01+08:00"), late.id)
    assert run.units["changtai"]["visits"][0]["report_on_time"] is False


def test_a_tick_past_due_breaches_once():
    run = _after_feedback()
    assert run.feed(ev("clock.ticked", "2026-07-20T15:00:00+08:00")) == []
    tick = ev("clock.ticked", "2026-07-20T15:01:00+08:00")
    assert kinds(run.feed(tick)) == ["rectification_report_overdue"]
    assert run.breaches[-1].cause_id == tick.id
    assert run.feed(ev("clock.ticked", "2026-08-20T15:00:00+08:00")) == []


def test_an_old_event_does_not_move_time_back():
    run = _after_feedback()
    run.feed(ev("clock.ticked", "2026-06-01T00:00:00+08:00"))
    assert run.feed(ev("site.inspected", "2026-04-21T10:00:00+08:00", site_kind="enterprise",
                       site_id="late", site_name="late")) == []
    assert run.timelines[0].stream_time == at("2026-06-01T00:00:00+08:00")


def test_a_duplicate_event_changes_nothing():
    run = Run()
    started = ev("visit.started", START)
    run.feed(schedule(team=team(3)))
    first = run.feed(started)
    states = dict(run.states)
    assert kinds(first) == ["team_composition_invalid"]
    assert run.feed(started) == []
    assert run.states == states


def test_events_for_unknown_visits_are_recorded_never_a_crash():
    run = Run()
    assert run.feed(ev("visit.ended", "2026-04-28T17:00:00+08:00"),
                    ev("rectification.report.submitted", "2026-05-01T00:00:00+08:00")) == []
    anomalies = run.units["changtai"]["anomalies"]
    assert len(anomalies) == 2 and "never scheduled" in anomalies[0]
    counts, notes = run.flow.irregular.drain()
    assert counts == {"noted": 2}
    assert notes == anomalies


def test_an_event_before_stream_time_is_counted_late_and_judged_as_it_comes():
    run = Run()
    run.feed(schedule(), ev("clock.ticked", "2026-05-10T00:00:00+08:00"))
    found = run.feed(ev("visit.started", START), ev("visit.ended", "2026-04-25T17:00:00+08:00"))
    counts, _ = run.flow.irregular.drain()
    assert counts == {"late": 2}
    assert "visit_too_short" in kinds(found)  # judged, not dropped
    run.feed(ev("visit.started", START, id="again"))
    assert run.flow.irregular.drain()[0] == {"late": 1, "noted": 1}  # started again


def test_the_policy_has_the_documented_defaults():
    assert POLICY.county == Reach(10, Fraction(3, 5), None, Fraction(1, 2), 10)
    assert POLICY.zone == Reach(6, None, 4, Fraction(3, 5), 8)
    assert (POLICY.team_min, POLICY.team_max, POLICY.report_months) == (6, 10, 2)


def test_a_team_without_an_expert_falls_short_and_the_number_is_a_setting():
    members = [member("p1", "leader"), member("p2", "deputy_leader")]
    members += [member(f"p{i}") for i in range(3, 9)]
    started = [schedule(team={"team_id": "T", "members": members}), ev("visit.started", START)]
    breaches = Run().feed(*started)
    assert kinds(breaches) == ["team_composition_invalid"]
    assert breaches[0].detail == "0 expert members, at least 1 expected"
    assert Run(config.policy(Settings(team_min_experts=0))).feed(*started) == []


def test_members_from_outside_the_committees_member_units_fall_short_when_listed():
    from dataclasses import replace

    members = team()["members"]
    members[4] = {**members[4], "organization": "某公司"}
    started = [schedule(team={"team_id": "T", "members": members}), ev("visit.started", START)]
    assert Run().feed(*started) == []  # no list: not checked
    listed = replace(POLICY, team_organizations=frozenset({"市安委会成员单位"}))
    breaches = Run(listed).feed(*started)
    assert breaches[0].detail == "not from the committee's member units: p5"


def test_a_team_rule_adopted_in_the_log_judges_the_visits_that_start_after_it():
    """The example's policy.adopted allows teams of 5 to 7: a team of eight passed before it,
    fails after it (``kernel.policy_log``)."""
    from runtime.config.settings import Settings
    from services.scheduler import config
    from tests.examples import DATA

    policies = config.policies(Settings())
    run = Run(policy=policies.starting, policies=policies)
    assert run.feed(schedule(), ev("visit.started", START)) == []  # the starting rule: 6 to 10
    run.feed(ev("policy.adopted", "2026-04-18T10:00:00+08:00", id="adopt-team",
                **DATA["policy.adopted"]))
    breaches = run.feed(schedule("pinghe"), ev("visit.started", START, "pinghe"))
    assert kinds(breaches) == ["team_composition_invalid"]
    assert breaches[0].detail.startswith("team of 8, 5 to 7 expected")

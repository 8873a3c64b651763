"""What is due: the obligations each service lists from its state, and the filters and order
of a due list (``kernel.due``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.dates import add_months
from kernel.due import Due, Wanted, due_list, parse_within
from services.escalation.views import due_of
from services.scheduler.views import due_of_campaign, due_of_unit
from tests.unit.services.escalation.support import Run as EscalationRun
from tests.unit.services.escalation.support import ack, finding, tick
from tests.unit.services.scheduler.support import POLICY, SHANGHAI, Run, at, ev, plan, schedule


# -- what the scheduler owes ---------------------------------------------------------------
@pytest.mark.parametrize(("kind", "earliest_end"), [("county", "2026-04-28T00:00:00+08:00"),
                                                    ("zone", "2026-04-24T00:00:00+08:00")])
def test_a_visit_on_site_owes_its_days_until_the_first_day_it_may_end(kind, earliest_end):
    run = Run()
    run.feed(schedule(kind=kind), ev("visit.started", "2026-04-18T21:30:00+08:00"))
    (due,) = due_of_unit(run.states["changtai"], POLICY)
    assert (due.kind, due.subject_id, due.unit_id) == ("days_on_site", "visit-changtai",
                                                        "changtai")
    assert due.due == at(earliest_end)
    # Ending at that instant is in time; the rule agrees.
    run.feed(ev("visit.ended", earliest_end))
    assert "visit_too_short" not in run.states["changtai"].visits["visit-changtai"].breaches
    assert due_of_unit(run.states["changtai"], POLICY) == []


def test_a_report_is_owed_from_feedback_until_it_is_submitted():
    run = Run()
    feedback = "2026-05-02T10:00:00+08:00"
    run.feed(schedule(), ev("visit.started", "2026-04-18T09:00:00+08:00"),
             ev("visit.ended", "2026-04-28T17:00:00+08:00"),
             ev("feedback.delivered", feedback))
    (due,) = due_of_unit(run.states["changtai"], POLICY)
    assert due.kind == "rectification_report" and due.authority == "unit_government"
    assert due.due == add_months(at(feedback), 2, SHANGHAI)
    run.feed(ev("rectification.report.submitted", "2026-06-20T10:00:00+08:00"))
    assert due_of_unit(run.states["changtai"], POLICY) == []


def test_each_planned_unit_owes_coverage_until_its_visit_ends_and_none_once_judged():
    run = Run()
    run.feed(plan(), schedule("changtai"), ev("visit.started", "2026-04-18T09:00:00+08:00"),
             ev("visit.ended", "2026-04-28T17:00:00+08:00"))
    (campaign,) = [c for k, c in run.store.items() if k.startswith("campaign:")]
    owed = due_of_campaign(campaign, SHANGHAI)
    assert {d.unit_id for d in owed} == {"pinghe", "taishang"}
    assert {d.due for d in owed} == {at("2027-01-01T00:00:00+08:00")}
    run.feed(ev("clock.ticked", "2027-01-01T00:00:01+08:00"))
    (campaign,) = [c for k, c in run.store.items() if k.startswith("campaign:")]
    assert campaign.judged_at is not None and due_of_campaign(campaign, SHANGHAI) == []


# -- what escalations owe ------------------------------------------------------------------
def test_an_open_escalation_owes_its_current_level_and_nothing_once_closed():
    run = EscalationRun()
    run.feed(finding("violation"), tick("2026-04-21T10:00:01+08:00"))
    (eid,) = run.states["changtai"].escalations
    due = due_of(run.states["changtai"].escalations[eid])
    assert (due.kind, due.authority, due.level) == ("escalation", "city_safety_office", 2)
    assert due.due == at("2026-04-22T10:00:00+08:00")
    run.feed(ack(eid, "2026-04-21T12:00:00+08:00"))
    assert due_of(run.states["changtai"].escalations[eid]) is None


# -- the list and its filters ----------------------------------------------------------------
def item(kind="escalation", hours=1, unit="u1", authority="city_safety_office", subject="s"):
    return Due(kind, subject, unit, at("2026-04-20T00:00:00+08:00") + timedelta(hours=hours),
               authority, "detail").view()


@pytest.mark.parametrize(("text", "span"), [("48h", timedelta(hours=48)),
                                            ("2d", timedelta(days=2)),
                                            ("90m", timedelta(minutes=90)),
                                            (" 1w ", timedelta(weeks=1))])
def test_spans_of_time(text, span):
    assert parse_within(text) == span


@pytest.mark.parametrize("text", ["", "48", "h", "-1h", "1.5h", "2 days", "48s"])
def test_a_bad_span_is_refused_naming_what_is_expected(text):
    with pytest.raises(ValueError, match="a number and a unit"):
        parse_within(text)


def test_an_unknown_kind_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match="escalation, days_on_site"):
        Wanted.of(kind="visits")


def test_filters_and_the_time_remaining():
    as_of = at("2026-04-20T00:00:00+08:00")
    items = [item(hours=50, subject="late"), item(hours=2, subject="soon", unit="u2"),
             item("rectification_report", hours=30, authority="unit_government",
                  subject="report")]
    every = due_list(items, as_of, Wanted())
    assert [d["subject_id"] for d in every["due"]] == ["soon", "report", "late"]
    assert [d["remaining_s"] for d in every["due"]] == [7200, 108000, 180000]
    assert every["as_of"] == as_of.isoformat()
    within = due_list(items, as_of, Wanted.of(due_within="48h"))
    assert [d["subject_id"] for d in within["due"]] == ["soon", "report"]
    assert [d["subject_id"] for d in due_list(items, as_of, Wanted.of(unit="u2"))["due"]] \
        == ["soon"]
    assert [d["subject_id"] for d in due_list(
        items, as_of, Wanted.of(authority="unit_government", kind="rectification_report"))[
        "due"]] == ["report"]


@given(st.lists(st.integers(-100, 100), max_size=20), st.integers(0, 100))
def test_a_due_list_is_sorted_and_holds_exactly_what_is_due_within(hours, within):
    as_of = at("2026-04-20T00:00:00+08:00")
    items = [item(hours=h, subject=f"s{i}") for i, h in enumerate(hours)]
    found = due_list(items, as_of, Wanted.of(due_within=f"{within}h"))["due"]
    assert [d["remaining_s"] for d in found] == sorted(d["remaining_s"] for d in found)
    assert len(found) == sum(1 for h in hours if h <= within)

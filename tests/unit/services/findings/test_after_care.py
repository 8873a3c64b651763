"""After-care (跟踪监督) in the findings core: the rectification ledger, the follow-ups of pending
and reopened findings, checks by method, listed supervision and transfers to their end."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.deadlines import Timeline
from runtime.config.settings import Settings
from services.findings import config
from services.findings.aftercare import open_deadlines
from services.findings.views import (
    campaign_ledger,
    follow_ups_due,
    ledger_row,
    listed_hazards,
    transfers,
    unit_ledger,
)
from tests.unit.services.findings.support import Run, finding
from tests.unit.services.scheduler.support import ev, schedule

REPORT = "2026-06-20T10:00:00+08:00"
FOLLOW_UP_DUE = "2026-08-20T10:00:00+08:00"  # two calendar months after the report


def report(time=REPORT, rectified=(), pending=()):
    return ev("rectification.report.submitted", time, rectified_finding_ids=list(rectified),
              pending_finding_ids=list(pending))


def check(time, result, *finding_ids, method=None):
    extra = {} if method is None else {"method": method}
    return ev("spot_check.conducted", time, finding_ids=list(finding_ids), result=result,
              **extra)


def tick(time):
    return ev("clock.ticked", time)


def kinds(breaches):
    return [b.kind for b in breaches]


def test_the_ledger_moves_open_claimed_verified_and_keeps_the_event_behind_each_step():
    run = Run()
    run.feed(schedule(), finding("F1"), report(rectified=["F1"]),
             check("2026-07-01T10:00:00+08:00", "confirmed", "F1", method="look_back"),
             ev("finding.rectified", "2026-07-02T10:00:00+08:00", finding_id="F1"))
    view = run.finding()
    assert view["ledger"] == "verified"  # a later claim does not undo 销号
    steps = [(s["ledger"], s["event_type"]) for s in view["history"] if s["ledger"]]
    assert steps == [("open", "finding.recorded"), ("claimed", "rectification.report.submitted"),
                     ("verified", "spot_check.conducted")]
    entry = unit_ledger(run.states["changtai"])["findings"][0]
    assert entry["since"] == "2026-07-01T10:00:00+08:00"
    assert [s["event_id"] for s in entry["steps"]] == [h["event_id"] for h in view["history"]
                                                       if h["ledger"]]


def test_a_finding_left_pending_is_followed_up_and_a_miss_is_one_breach_of_the_finding():
    run = Run()
    run.feed(schedule(), finding("F1"), report(pending=["F1"]))
    assert run.finding()["ledger"] == "pending"
    (due,) = follow_ups_due(run.states["changtai"])
    assert (due.kind, due.subject_id, due.due.isoformat()) == (
        "rectification_follow_up", "F1", FOLLOW_UP_DUE)
    assert run.feed(tick(FOLLOW_UP_DUE)) == []  # at the due time: in time
    late_tick = tick("2026-08-20T10:00:01+08:00").model_copy(update={"correlationid": None})
    breaches = run.feed(late_tick, tick("2026-12-31T10:00:00+08:00"))
    assert kinds(breaches) == ["rectification_follow_up_overdue"]
    assert breaches[0].subject_id == "F1"
    assert breaches[0].deadline_id == "F1:rectification_follow_up:1"
    assert breaches[0].due.isoformat() == FOLLOW_UP_DUE
    assert breaches[0].correlation_id == "visit-2026-changtai"  # the report's, not the tick's
    assert follow_ups_due(run.states["changtai"]) == []
    assert run.finding()["follow_up"]["breached"] is True
    # kept for the assessment as every breach of the unit
    assert "rectification_follow_up_overdue" in {
        b.kind for b in run.states["changtai"].breaches.values()}


def test_a_claim_in_time_ends_the_follow_up():
    run = Run()
    run.feed(schedule(), finding("F1"), report(pending=["F1"]),
             ev("finding.rectified", FOLLOW_UP_DUE, finding_id="F1"))
    assert run.feed(tick("2027-01-01T00:00:00+08:00")) == []
    assert run.finding()["ledger"] == "claimed"
    assert run.finding()["follow_up"]["ended_at"] == FOLLOW_UP_DUE


def test_a_check_that_finds_it_not_rectified_reopens_it_with_a_follow_up_of_its_own():
    run = Run()
    run.feed(schedule(), finding("F1"), report(rectified=["F1"]),
             check("2026-07-10T10:00:00+08:00", "not_rectified", "F1"))
    assert run.finding()["ledger"] == "reopened"
    assert run.finding()["follow_up"]["due"] == "2026-09-10T10:00:00+08:00"
    run.feed(check("2026-07-20T10:00:00+08:00", "not_rectified", "F1"))  # reopened again
    assert run.finding()["follow_up"]["n"] == 2
    assert run.finding()["follow_up"]["due"] == "2026-09-20T10:00:00+08:00"
    breaches = run.feed(tick("2026-09-15T10:00:00+08:00"))
    assert breaches == []  # the first one was replaced, not missed
    breaches = run.feed(tick("2026-09-21T10:00:00+08:00"))
    assert [b.deadline_id for b in breaches] == ["F1:rectification_follow_up:2"]


def test_a_withdrawal_ends_the_follow_up_and_the_ledger_stays_withdrawn():
    run = Run()
    run.feed(schedule(), finding("F1"), report(pending=["F1"]),
             ev("finding.withdrawn", "2026-07-01T10:00:00+08:00", finding_id="F1"),
             check("2026-07-10T10:00:00+08:00", "not_rectified", "F1"))
    assert run.finding()["ledger"] == "withdrawn"
    assert run.feed(tick("2027-01-01T00:00:00+08:00")) == []


def test_the_follow_up_is_a_setting_and_can_be_turned_off():
    run = Run(config.policy(Settings(follow_up_months=0)))
    run.feed(schedule(), finding("F1"), report(pending=["F1"]))
    assert run.finding()["ledger"] == "pending" and run.finding()["follow_up"] is None
    assert run.feed(tick("2027-01-01T00:00:00+08:00")) == []
    run = Run(config.policy(Settings(follow_up_months=1)))
    run.feed(schedule(), finding("F1"), report(pending=["F1"]))
    assert run.finding()["follow_up"]["due"] == "2026-07-20T10:00:00+08:00"


def test_checks_after_the_report_are_counted_by_method_and_units_without_a_look_back_named():
    run = Run()
    run.feed(schedule(), finding("F1"), finding("F2"),
             check("2026-06-01T10:00:00+08:00", "confirmed", "F1"),  # before the report
             report(rectified=["F1", "F2"]),
             check("2026-07-01T10:00:00+08:00", "confirmed", "F1"),
             check("2026-07-02T10:00:00+08:00", "confirmed", "F2", method="unannounced_visit"))
    run.feed(schedule(unit="pinghe"), finding("P1", unit="pinghe"),
             ev("rectification.report.submitted", REPORT, unit="pinghe",
                rectified_finding_ids=["P1"], pending_finding_ids=[]),
             ev("spot_check.conducted", "2026-07-03T10:00:00+08:00", unit="pinghe",
                finding_ids=["P1"], result="confirmed", method="look_back"))
    rows = []
    for unit, state in run.states.items():
        rows.append({"unit_id": unit, **ledger_row(state, list(state.findings.values()), None)})
    whole = campaign_ledger(rows, None, None)
    by_unit = {r["unit_id"]: r for r in whole["units"]}
    assert by_unit["changtai"]["checks_by_method"] == {
        "spot_check": 1, "unannounced_visit": 1, "look_back": 0}
    assert by_unit["pinghe"]["checks_by_method"]["look_back"] == 1
    assert whole["no_look_back"] == ["changtai"]
    assert whole["by_state"]["verified"] == 3


def test_listed_supervision_decided_then_lifted_and_a_lifting_of_nothing_noted():
    run = Run()
    run.feed(schedule(), finding("F1", "major_hazard", listed_supervision_advised=True),
             ev("listed_supervision.decided", "2026-04-22T10:00:00+08:00", finding_id="F1",
                listed=True, document_no="长安委督〔2026〕3号"))
    (listed,) = listed_hazards(run.states["changtai"])
    assert (listed["finding_id"], listed["document_no"], listed["listed_at"]) == (
        "F1", "长安委督〔2026〕3号", "2026-04-22T10:00:00+08:00")
    run.feed(ev("listed_supervision.lifted", "2026-09-01T10:00:00+08:00", finding_id="F1",
                document_no=None))
    assert listed_hazards(run.states["changtai"]) == []
    assert run.finding()["listing"]["lifted_at"] == "2026-09-01T10:00:00+08:00"
    run.feed(ev("listed_supervision.lifted", "2026-09-02T10:00:00+08:00", finding_id="F1"))
    assert "lifted, but it is not listed" in run.states["changtai"].unmatched[-1]
    assert run.finding()["listing"]["lifted_at"] == "2026-09-01T10:00:00+08:00"


def test_the_boards_put_every_parts_items_oldest_first_with_their_age():
    from services.findings.views import board

    found = [{"as_of": "2026-09-01T00:00:00+08:00"},
             {"finding_id": "B", "listed_at": "2026-08-01T00:00:00+08:00"},
             {"as_of": "2026-09-02T00:00:00+08:00"},
             {"finding_id": "A", "listed_at": "2026-08-01T00:00:00+08:00"},
             {"finding_id": "C", "listed_at": "2026-07-01T00:00:00+08:00"}]
    answer = board(found, "listed_at", "listed")
    assert answer["as_of"] == "2026-09-02T00:00:00+08:00"  # the latest part's stream time
    assert [(i["finding_id"], i["age_s"] // 86400) for i in answer["listed"]] == [
        ("C", 63), ("A", 32), ("B", 32)]


def test_a_transfer_stays_open_until_its_investigation_is_concluded():
    run = Run()
    run.feed(schedule(), finding("A1", "accountability"))
    assert [t["finding_id"] for t in transfers(run.states["changtai"], False)] == ["A1"]
    run.feed(ev("investigation.concluded", "2026-06-01T10:00:00+08:00", finding_id="A1",
                outcome="诫勉谈话", by="市纪委"))
    assert transfers(run.states["changtai"], False) == []
    (done,) = transfers(run.states["changtai"], True)
    assert (done["outcome"], done["concluded_by"]) == ("诫勉谈话", "市纪委")


AFTER_CARE = st.lists(st.tuples(
    st.sampled_from(["rectified", "pending", "confirmed", "not_rectified", "claim", "withdrawn",
                     "tick"]),
    st.integers(min_value=0, max_value=120)), max_size=25)


@settings(max_examples=150, deadline=None)
@given(AFTER_CARE)
def test_the_follow_ups_open_are_what_the_state_says_whatever_the_order(steps):
    # The invariant a restart relies on: the deadlines the loop holds open are exactly those
    # read back from the state (open_deadlines), and withdrawn is final.
    run = Run()
    run.feed(schedule(), finding("F1"))
    day = datetime.fromisoformat("2026-05-01T10:00:00+08:00")
    withdrawn = False
    for what, hours in steps:
        day += timedelta(hours=hours * 13)  # up to about two months at a step
        t = day.isoformat()
        event = {
            "rectified": report(t, rectified=["F1"]), "pending": report(t, pending=["F1"]),
            "confirmed": check(t, "confirmed", "F1"),
            "not_rectified": check(t, "not_rectified", "F1"),
            "claim": ev("finding.rectified", t, finding_id="F1"),
            "withdrawn": ev("finding.withdrawn", t, finding_id="F1"), "tick": tick(t),
        }[what]
        run.feed(event)
        withdrawn = withdrawn or what == "withdrawn"
        state = run.states["changtai"]
        held = run.stores["timelines"][0]
        assert held == Timeline(held.stream_time, open_deadlines(state))
        assert (state.findings["F1"].ledger == "withdrawn") == withdrawn

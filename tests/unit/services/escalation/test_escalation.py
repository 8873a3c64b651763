"""The escalation core: routing, closing, the chain of levels, the top, and invariants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.config.settings import Settings
from schemas.envelope import notice_event
from services.escalation import config
from services.escalation.rules import Notice, Unmatched, open_deadlines, shown_ids
from tests.unit.services.escalation.support import Run, T, ack, finding, notices, tick
from tests.unit.services.scheduler.support import at, ev


def breaches(derived):
    return [(b.kind, b.subject_id, b.due) for b in derived if hasattr(b, "kind")]


@pytest.mark.parametrize(("category", "safety", "listed", "expected"), [
    ("general", False, False, []),
    ("violation", False, False, [("issue_enforcement_document", "local_regulator")]),
    ("major_hazard", False, False, [("report_major_hazard", "city_safety_office")]),
    ("major_issue", False, False, [("request_instructions", "city_safety_committee")]),
    ("misconduct_clue", False, False, [("report_misconduct_clue", "city_safety_committee")]),
    ("accountability", False, False, [("transfer_for_investigation",
                                       "discipline_authorities")]),
    ("general", True, False, [("take_immediate_measures", "unit_government")]),
    ("violation", True, False, [("issue_enforcement_document", "local_regulator"),
                                ("take_immediate_measures", "unit_government")]),
    ("major_hazard", True, False, [("report_major_hazard", "city_safety_office"),
                                   ("take_immediate_measures", "unit_government")]),
    ("major_issue", True, False, [("request_instructions", "city_safety_committee")]),
    ("general", False, True, [("recommend_listed_supervision", "unit_safety_committee")]),
])
def test_every_row_of_the_routing_table(category, safety, listed, expected):
    derived = Run().feed(finding(category, safety=safety, listed=listed))
    assert [(n.escalation.action, n.escalation.authority) for n in derived] == expected
    for n in derived:
        assert n.type == "escalation.raised" and n.escalation.level == 1
        assert n.escalation.escalation_id == f"F1:{n.escalation.action}"


@pytest.mark.parametrize(("category", "hours"), [
    ("violation", 24), ("major_hazard", 24), ("major_issue", 24), ("misconduct_clue", 24),
    ("accountability", 72)])
def test_each_action_has_its_limit(category, hours):
    (notice,) = Run().feed(finding(category))
    assert notice.escalation.due == at(T) + timedelta(hours=hours)


def test_listed_supervision_has_72_hours_and_limits_are_settings():
    (notice,) = Run().feed(finding("general", listed=True))
    assert notice.escalation.due == at(T) + timedelta(hours=72)
    quick = config.policy(Settings(limit_report_major_hazard_h=2))
    (notice,) = Run(quick).feed(finding("major_hazard"))
    assert notice.escalation.due == at(T) + timedelta(hours=2)


def test_the_document_closes_an_enforcement_escalation():
    run = Run()
    run.feed(finding("violation"),
             ev("enforcement.document.issued", "2026-04-21T10:00:00+08:00", finding_id="F1"))
    assert run.escalation("F1:issue_enforcement_document")["status"] == "closed"
    assert run.feed(tick("2026-05-01T00:00:00+08:00")) == []


def test_measures_close_an_immediate_measures_escalation():
    run = Run()
    run.feed(finding("general", safety=True),
             ev("immediate.measures.taken", "2026-04-20T12:00:00+08:00", finding_id="F1"))
    assert run.escalation("F1:take_immediate_measures")["status"] == "closed"


def test_before_a_level_up_an_acknowledgement_does_not_close_a_document_escalation():
    run = Run()
    eid = "F1:issue_enforcement_document"
    run.feed(finding("violation"), ack(eid, "2026-04-20T11:00:00+08:00", "local_regulator"))
    view = run.escalation(eid)
    assert view["status"] == "open"
    assert view["history"][-1]["note"] == "does not close it before a level-up"
    missed = run.feed(tick("2026-04-21T10:00:01+08:00"))
    assert breaches(missed) == [("enforcement_document_overdue", eid,
                                 at("2026-04-21T10:00:00+08:00"))]


def test_after_a_level_up_any_acknowledgement_closes_it():
    run = Run()
    eid = "F1:issue_enforcement_document"
    run.feed(finding("violation"), tick("2026-04-21T10:00:01+08:00"))
    assert run.escalation(eid)["level"] == 2
    run.feed(ack(eid, "2026-04-21T12:00:00+08:00", "city_safety_office"))
    view = run.escalation(eid)
    assert view["status"] == "closed" and view["acknowledged_by"] == ["city_safety_office"]


def test_an_acknowledgement_closes_an_ack_escalation_at_level_1():
    run = Run()
    run.feed(finding("major_hazard"), ack("F1:report_major_hazard", T))
    assert run.escalation("F1:report_major_hazard")["status"] == "closed"


def test_resolved_closes_at_any_level():
    for extra in ([], [tick("2026-04-21T10:00:01+08:00")]):
        run = Run()
        run.feed(finding("violation"), *extra,
                 ev("escalation.resolved", "2026-04-21T11:00:00+08:00",
                    escalation_id="F1:issue_enforcement_document"))
        assert run.escalation("F1:issue_enforcement_document")["status"] == "closed"


def test_an_acknowledgement_exactly_at_due_is_in_time():
    run = Run()
    run.feed(finding("major_issue"))
    derived = run.feed(ack("F1:request_instructions", "2026-04-21T10:00:00+08:00"))
    assert derived == []
    assert run.escalation("F1:request_instructions")["status"] == "closed"


def test_an_acknowledgement_one_second_late_is_a_breach_and_a_level_up_then_closes_it():
    run = Run()
    run.feed(finding("major_issue"))
    late = ack("F1:request_instructions", "2026-04-21T10:00:01+08:00")
    derived = run.feed(late)
    assert breaches(derived) == [("escalation_unacknowledged", "F1:request_instructions",
                                  at("2026-04-21T10:00:00+08:00"))]
    assert notices(derived) == [("escalation.escalated", "F1:request_instructions",
                                 "city_government", 2)]
    assert derived[0].cause_id == late.id
    assert run.escalation("F1:request_instructions")["status"] == "closed"


@pytest.mark.parametrize(("category", "safety", "listed", "action", "chain", "first_kind"), [
    ("violation", False, False, "issue_enforcement_document",
     ["local_regulator", "city_safety_office", "city_safety_committee", "city_government"],
     "enforcement_document_overdue"),
    ("general", True, False, "take_immediate_measures",
     ["unit_government", "city_safety_office", "city_safety_committee", "city_government"],
     "immediate_measures_overdue"),
    ("general", False, True, "recommend_listed_supervision",
     ["unit_safety_committee", "city_safety_office", "city_safety_committee",
      "city_government"], "escalation_unacknowledged"),
    ("accountability", False, False, "transfer_for_investigation",
     ["discipline_authorities", "city_safety_committee", "city_government"],
     "escalation_unacknowledged"),
    ("major_hazard", False, False, "report_major_hazard",
     ["city_safety_office", "city_safety_committee", "city_government"],
     "escalation_unacknowledged"),
    ("misconduct_clue", False, False, "report_misconduct_clue",
     ["city_safety_committee", "city_government"], "escalation_unacknowledged"),
])
def test_each_level_of_the_chain_to_the_top(category, safety, listed, action, chain,
                                            first_kind):
    run = Run()
    eid = f"F1:{action}"
    (raised,) = [n for n in run.feed(finding(category, safety=safety, listed=listed))
                 if n.escalation.action == action]
    due = raised.escalation.due
    kinds, authorities = [], [chain[0]]
    for level in range(1, len(chain) + 1):
        derived = [d for d in run.feed(tick((due + timedelta(seconds=1)).isoformat()))
                   if getattr(d, "subject_id", None) == eid
                   or (isinstance(d, Notice) and d.escalation.escalation_id == eid)]
        kinds += [b.kind for b in derived if hasattr(b, "kind")]
        missed = [b for b in derived if hasattr(b, "kind")][0]
        assert missed.due == due and missed.deadline_id == f"{eid}:L{level}"
        ups = [n for n in derived if isinstance(n, Notice)]
        if level < len(chain):
            assert [(n.escalation.authority, n.escalation.level) for n in ups] == [
                (chain[level], level + 1)]
            authorities.append(ups[0].escalation.authority)
            assert ups[0].escalation.due == due + timedelta(hours=24)  # from the missed due
            due = ups[0].escalation.due
        else:
            assert ups == []  # the top: a breach and nothing higher
    assert authorities == chain
    assert kinds == [first_kind] + ["escalation_unacknowledged"] * (len(chain) - 1)
    view = run.escalation(eid)
    assert view["status"] == "missed_at_top" and view["misses"] == len(chain)
    assert run.feed(tick("2027-01-01T00:00:00+08:00")) == []  # nothing more, ever


def test_a_tick_far_ahead_takes_an_escalation_up_every_level_it_missed_at_once():
    run = Run()
    derived = run.feed(finding("misconduct_clue"), tick("2026-05-01T00:00:00+08:00"))
    assert [b[0] for b in breaches(derived)] == ["escalation_unacknowledged"] * 2
    assert notices(derived)[1:] == [("escalation.escalated", "F1:report_misconduct_clue",
                                     "city_government", 2)]


def test_a_closing_event_after_the_level_up_still_closes():
    run = Run()
    eid = "F1:issue_enforcement_document"
    run.feed(finding("violation"), tick("2026-04-21T10:00:01+08:00"),
             ev("enforcement.document.issued", "2026-04-21T18:00:00+08:00", finding_id="F1"))
    view = run.escalation(eid)
    assert (view["status"], view["level"]) == ("closed", 2)
    assert run.feed(tick("2026-05-01T00:00:00+08:00")) == []


def test_unknown_acknowledgements_are_kept_and_counted_never_a_crash():
    run = Run()
    stray = ack("F-nobody:report_major_hazard", T)
    derived = run.feed(stray, ev("escalation.resolved", T, escalation_id="nope"))
    assert [type(d) for d in derived] == [Unmatched, Unmatched]
    assert len(run.states["changtai"].unmatched) == 2
    run.feed(stray)  # the same event again
    counts, notes = run.flow.irregular.drain()
    assert counts == {"noted": 2, "duplicate": 1}
    assert "names escalation nope, which nobody raised" in notes[1]


def test_an_event_older_than_stream_time_is_counted_late_and_applied():
    run = Run()
    run.feed(tick("2026-04-25T00:00:00+08:00"))
    derived = run.feed(finding("major_hazard", time=T))  # five days before stream time
    counts, _ = run.flow.irregular.drain()
    assert counts == {"late": 1}
    assert notices(derived)  # raised, and already past its 24 h: taken up at once
    assert breaches(derived)


def test_the_register_counts_open_escalations_by_authority_and_level():
    run = Run()
    run.feed(finding("violation", "F1"), finding("major_hazard", "F2"),
             finding("major_hazard", "F3", time="2026-04-22T10:00:00+08:00"),
             tick("2026-04-21T10:00:01+08:00"), ack("F3:report_major_hazard", T))
    assert run.open_counts() == {("city_safety_office", 2): 1,
                                 ("city_safety_committee", 2): 1}


def test_the_wire_form_has_deterministic_ids():
    (n,) = Run().feed(finding("violation"))
    (again,) = Run().feed(finding("violation"))
    first, second = notice_event(n, "escalation"), notice_event(again, "escalation")
    assert first["id"] == second["id"]
    assert first["data"] == {"escalation_id": "F1:issue_enforcement_document",
                             "finding_id": "F1", "unit_id": "changtai",
                             "action": "issue_enforcement_document",
                             "authority": "local_regulator", "level": 1,
                             "due": "2026-04-21T10:00:00+08:00"}
    from schemas import DERIVED
    DERIVED["escalation.raised"].model_validate(first)


# -- invariants ----------------------------------------------------------------------------
CATS = ["general", "violation", "major_hazard", "major_issue", "misconduct_clue",
        "accountability"]


@st.composite
def streams_of_events(draw):
    events = []
    base = at(T)
    for i in range(draw(st.integers(1, 6))):
        t = base + timedelta(hours=draw(st.integers(0, 200)))
        cat = draw(st.sampled_from(CATS))
        events.append(finding(cat, f"F{i}", t.isoformat(), draw(st.booleans()),
                              draw(st.booleans())))
        for _ in range(draw(st.integers(0, 2))):
            later = (t + timedelta(hours=draw(st.integers(0, 120)))).isoformat()
            kind = draw(st.sampled_from(["ack", "doc", "measures", "resolved", "tick"]))
            if kind == "ack":
                action = draw(st.sampled_from(["issue_enforcement_document",
                                               "report_major_hazard", "request_instructions",
                                               "take_immediate_measures"]))
                events.append(ack(f"F{i}:{action}", later))
            elif kind == "doc":
                events.append(ev("enforcement.document.issued", later, finding_id=f"F{i}"))
            elif kind == "measures":
                events.append(ev("immediate.measures.taken", later, finding_id=f"F{i}"))
            elif kind == "resolved":
                events.append(ev("escalation.resolved", later,
                                 escalation_id=f"F{i}:transfer_for_investigation"))
            else:
                events.append(tick(later))
    events.sort(key=lambda e: e.time)
    events.append(tick("2026-06-01T00:00:00+08:00"))
    return events


def _wire(derived):
    from schemas.envelope import breach_event as to_event
    return [notice_event(d, "escalation") if isinstance(d, Notice) else
            to_event(d, "escalation") if hasattr(d, "kind") else d for d in derived]


@settings(max_examples=80, deadline=None)
@given(streams_of_events())
def test_replay_gives_identical_outputs(events):
    first, second = Run(), Run()
    first.feed(*events)
    second.feed(*events)
    assert _wire(first.derived) == _wire(second.derived)
    assert first.store == second.store


@settings(max_examples=80, deadline=None)
@given(streams_of_events(), st.data())
def test_duplicates_change_nothing(events, data):
    clean = Run()
    clean.feed(*events)
    noisy = []
    for e in events:
        noisy.append(e)
        if data.draw(st.booleans()):
            noisy.append(e)
    noisy += data.draw(st.lists(st.sampled_from(events), max_size=3))
    doubled = Run()
    doubled.feed(*noisy)
    assert _wire(doubled.derived) == _wire(clean.derived)
    assert doubled.store == clean.store
    ids = [w["id"] for w in _wire(doubled.derived) if isinstance(w, dict)]
    assert len(ids) == len(set(ids))


@settings(max_examples=80, deadline=None)
@given(streams_of_events(), st.data())
def test_what_a_worker_reads_back_from_the_escalations_is_what_the_loop_kept(events, data):
    """However the events go (some redelivered), the deadlines a worker makes its timeline
    from after a restart (``open_deadlines`` of each unit: it writes none of its own) are the
    ones the loop holds open; the ids the escalations show (``shown_ids``: not written
    either) are ids it applied; and the open index lists the open ones, as the gauges count
    them."""
    run = Run()
    applied = set()
    for e in events:
        for _ in range(2 if data.draw(st.booleans()) else 1):  # redelivered
            run.feed(e)
        applied.add(e.id)
        timeline = run.stores["timelines"].get(0)
        held = [] if timeline is None else [(d.due, d.deadline_id, d.key)
                                            for d in timeline.pending]
        read_back = sorted((d.due, d.deadline_id, d.key)
                           for state in run.states.values() for d in open_deadlines(state))
        assert held == read_back
        assert {i for state in run.states.values() for i in shown_ids(state)} <= applied
    escalations = [e for state in run.states.values() for e in state.escalations.values()]
    expected: dict = {}
    for e in escalations:
        if e.status not in ("closed", "withdrawn"):
            expected[(e.authority, e.level)] = expected.get((e.authority, e.level), 0) + 1
    assert run.open_counts() == expected


def test_a_listed_supervision_decision_closes_the_recommendation_at_any_level():
    # at the 72 h, in time; an hour after them, at level 2
    for decided in ("2026-04-23T10:00:00+08:00", "2026-04-23T11:00:00+08:00"):
        run = Run()
        run.feed(finding("general", listed=True),
                 ev("listed_supervision.decided", decided,
                    finding_id="F1", listed=False, document_no=None))
        view = run.escalation("F1:recommend_listed_supervision")
        assert view["status"] == "closed"
        assert view["history"][-1]["what"] == "decided"
        assert view["level"] == (1 if decided.startswith("2026-04-23T10") else 2)
        assert list(open_deadlines(run.states["changtai"])) == []


def test_an_investigation_concluded_closes_the_transfer_and_keeps_its_outcome():
    run = Run()
    run.feed(finding("accountability"), ack("F1:transfer_for_investigation", T))
    # acknowledged at level 1 closes it; the outcome after is kept in its history
    assert run.escalation("F1:transfer_for_investigation")["status"] == "closed"
    run = Run()
    run.feed(finding("accountability"), tick("2026-04-23T10:00:01+08:00"),
             ev("investigation.concluded", "2026-04-23T11:00:00+08:00", finding_id="F1",
                outcome="诫勉谈话", by="市纪委"))
    view = run.escalation("F1:transfer_for_investigation")
    assert view["status"] == "closed" and view["level"] == 2
    assert view["history"][-1]["what"] == "concluded"


def test_a_decision_or_outcome_for_what_nobody_escalated_is_not_an_anomaly_here():
    run = Run()
    derived = run.feed(finding("general"),
                       ev("listed_supervision.decided", T, finding_id="F1", listed=True),
                       ev("investigation.concluded", T, finding_id="F1", outcome="x", by="y"))
    assert not [d for d in derived if isinstance(d, Unmatched)]
    assert run.states.get("changtai") is None or not run.states["changtai"].unmatched

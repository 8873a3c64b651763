"""Corrections: a finding amended or withdrawn withdraws the escalations it no longer needs,
raises those it now needs with limits from the amendment, and keeps every breach emitted."""

from __future__ import annotations

from schemas.envelope import notice_event
from tests.unit.services.escalation.support import Run, finding, tick
from tests.unit.services.scheduler.support import at, ev

T = "2026-04-20T10:00:00+08:00"


def amended(category, time, fid="F1", safety=False, listed=False, reason="recorded wrong"):
    return ev("finding.amended", time, finding_id=fid, category=category,
              cannot_ensure_safety=safety, listed_supervision_advised=listed, reason=reason)


def withdrawn(time, fid="F1"):
    return ev("finding.withdrawn", time, finding_id=fid, reason="recorded twice")


def _types(derived):
    return [getattr(d, "type", type(d).__name__) for d in derived]


def test_a_violation_amended_to_a_major_hazard_withdraws_one_and_raises_the_other():
    run = Run()
    run.feed(finding("violation", time=T))
    out = run.feed(amended("major_hazard", "2026-04-20T15:00:00+08:00"))
    assert _types(out) == ["escalation.withdrawn", "escalation.raised"]
    old = run.states["changtai"].escalations["F1:issue_enforcement_document"]
    new = run.states["changtai"].escalations["F1:report_major_hazard"]
    assert old.status == "withdrawn" and not old.is_open
    assert new.raised_at == at("2026-04-20T15:00:00+08:00")
    assert new.due == at("2026-04-21T15:00:00+08:00")  # from the amendment's time
    # The withdrawn one's deadline is closed: its due passes without a breach.
    later = run.feed(tick("2026-04-21T12:00:00+08:00"))
    assert later == []
    assert run.feed(tick("2026-04-21T15:00:01+08:00"))[0].kind == "escalation_unacknowledged"


def test_a_withdrawn_finding_withdraws_every_open_escalation_but_not_the_closed():
    run = Run()
    run.feed(finding("violation", time=T, safety=True, listed=True))
    run.feed(ev("enforcement.document.issued", "2026-04-20T12:00:00+08:00", finding_id="F1"))
    out = run.feed(withdrawn("2026-04-20T13:00:00+08:00"))
    assert sorted(n.escalation.action for n in out) == ["recommend_listed_supervision",
                                                       "take_immediate_measures"]
    states = {e.action: e.status for e in run.states["changtai"].escalations.values()}
    assert states == {"issue_enforcement_document": "closed",
                      "take_immediate_measures": "withdrawn",
                      "recommend_listed_supervision": "withdrawn"}
    assert run.open_counts() == {}  # the register shows none of them
    assert run.feed(tick("2026-05-01T00:00:00+08:00")) == []  # nothing left to miss


def test_breaches_already_emitted_stay_and_the_top_is_withdrawn_too():
    run = Run()
    run.feed(finding("major_issue", time=T))
    missed = run.feed(tick("2026-04-23T00:00:00+08:00"))
    assert [b.kind for b in missed if hasattr(b, "kind")] == ["escalation_unacknowledged"] * 2
    out = run.feed(withdrawn("2026-04-23T01:00:00+08:00"))
    assert _types(out) == ["escalation.withdrawn"]
    assert out[0].escalation.level == 2 and out[0].escalation.authority == "city_government"
    assert run.states["changtai"].escalations["F1:request_instructions"].status == "withdrawn"


def test_amended_back_raises_a_new_round_with_ids_and_deadlines_of_its_own():
    run = Run()
    first = run.feed(finding("violation", time=T))
    run.feed(amended("general", "2026-04-20T11:00:00+08:00"))
    again = run.feed(amended("violation", "2026-04-20T12:00:00+08:00"))
    assert _types(again) == ["escalation.raised"]
    escalation = again[0].escalation
    assert escalation.round == 2 and escalation.escalation_id == "F1:issue_enforcement_document"
    ids = {notice_event(n, "escalation")["id"] for n in (*first, *again)}
    assert len(ids) == 2  # the second raise is an event of its own
    breach = run.feed(tick("2026-04-21T12:00:01+08:00"))[0]
    assert breach.deadline_id == "F1:issue_enforcement_document:R2:L1"
    history = [s.what for s in run.states["changtai"].escalations[
        "F1:issue_enforcement_document"].history]
    assert history[:4] == ["raised", "withdrawn", "raised", "missed"]


def test_an_amendment_that_changes_nothing_the_routing_needs_does_nothing():
    run = Run()
    run.feed(finding("violation", time=T))
    assert run.feed(amended("violation", "2026-04-20T11:00:00+08:00")) == []


def test_a_general_finding_amended_to_a_violation_is_raised_then():
    run = Run()
    run.feed(finding("general", time=T))
    out = run.feed(amended("violation", "2026-04-22T09:00:00+08:00"))
    assert [n.escalation.due for n in out] == [at("2026-04-23T09:00:00+08:00")]

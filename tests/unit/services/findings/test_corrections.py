"""Corrections on the problem list: an amendment changes the finding and stays in its
history with what changed; a withdrawn finding stays listed, withdrawn, and leaves the
assessment; an amendment of a finding nobody recorded is noted, never a crash."""

from __future__ import annotations

from services.findings.views import assessment
from tests.unit.services.findings.support import Run, finding
from tests.unit.services.scheduler.support import SHANGHAI, ev, schedule


def test_an_amendment_changes_the_finding_and_says_what_changed():
    run = Run()
    run.feed(schedule(), finding("F1", "violation", advice="整改"))
    breaches = run.feed(ev("finding.amended", "2026-04-21T09:00:00+08:00", finding_id="F1",
                           category="general", cannot_ensure_safety=False,
                           evidence=["photo-2.jpg"], reason="误记 recorded wrong"))
    assert breaches == []  # the general rule is judged at recording only
    view = run.finding("F1")
    assert view["category"] == "general" and view["evidence"] == ["photo-2.jpg"]
    assert view["advice"] == "整改"  # not named: kept
    last = view["history"][-1]
    assert last["event_type"] == "finding.amended" and last["status"] == "pending"
    assert "category 'violation' → 'general'" in last["note"]
    assert "误记 recorded wrong" in last["note"]


def test_a_withdrawn_finding_stays_listed_and_leaves_the_assessment():
    run = Run()
    run.feed(schedule(), ev("visit.started", "2026-04-18T09:00:00+08:00"),
             finding("F1", "violation"), finding("F2", "major_hazard"),
             ev("finding.withdrawn", "2026-04-21T09:00:00+08:00", finding_id="F2",
                reason="重复 recorded twice"),
             ev("finding.rectified", "2026-05-01T09:00:00+08:00", finding_id="F2"))
    assert run.finding("F2")["status"] == "withdrawn"  # a later rectification changes nothing
    result = assessment(run.states["changtai"], 2026, SHANGHAI)
    assert result["findings"] == 1 and result["findings_by_category"]["major_hazard"] == 0


def test_an_amendment_of_an_unknown_finding_is_noted():
    run = Run()
    run.feed(schedule(), ev("finding.amended", "2026-04-21T09:00:00+08:00", finding_id="F9",
                            category="general", cannot_ensure_safety=False, reason="x"))
    assert any("unknown finding F9" in n for n in run.states["changtai"].unmatched)

"""The findings core: problem lists, each status transition, the general rule, assessment."""

from __future__ import annotations

import pytest

from runtime.config.settings import Settings
from services.findings import config
from services.findings.views import (
    assessment,
    problem_list,
    year_assessment,
)
from tests.unit.services.findings.support import Run, finding
from tests.unit.services.scheduler.support import SHANGHAI, ev, schedule

DESCRIPTION = "危險化學品倉庫未按規定設置防爆設施,,（實(shí)現(xiàn)）"


def test_a_finding_is_listed_exactly_as_recorded():
    run = Run()
    run.feed(schedule(), finding(description=DESCRIPTION, sector="fire_safety", aspect=2,
                                 item=33, site_id="s-1"))
    view = run.finding()
    assert view["description"] == DESCRIPTION
    assert (view["sector"], view["aspect"], view["item"], view["site_id"]) == (
        "fire_safety", 2, 33, "s-1")
    assert view["status"] == "pending"
    assert problem_list(run.states["changtai"])[0]["finding_id"] == "F1"
    assert problem_list(run.states["changtai"], visit_id="visit-changtai")[0][
        "finding_id"] == "F1"
    assert problem_list(run.states["changtai"], visit_id="visit-elsewhere") is None


def test_the_life_of_a_finding_handled_rectified_confirmed():
    run = Run()
    run.feed(finding(), ev("enforcement.document.issued", "2026-04-20T15:00:00+08:00",
                           finding_id="F1"))
    assert run.finding()["status"] == "handled"
    assert run.finding()["handling"] == ["enforcement document 长应急罚〔2026〕17号 by 长泰县应急管理局"]
    run.feed(ev("finding.rectified", "2026-05-20T10:00:00+08:00", finding_id="F1"))
    assert run.finding()["status"] == "rectified"
    run.feed(ev("spot_check.conducted", "2026-08-01T10:00:00+08:00", finding_ids=["F1"],
                result="confirmed"))
    view = run.finding()
    assert view["status"] == "confirmed"
    assert [s["status"] for s in view["history"]] == ["pending", "handled", "rectified",
                                                      "confirmed"]
    assert [s["event_type"] for s in view["history"]] == [
        "finding.recorded", "enforcement.document.issued", "finding.rectified",
        "spot_check.conducted"]


def test_immediate_measures_are_handling_too():
    run = Run()
    run.feed(finding(cannot_ensure_safety=True),
             ev("immediate.measures.taken", "2026-04-20T12:00:00+08:00", finding_id="F1"))
    assert run.finding()["status"] == "handled"
    assert run.finding()["handling"] == ["immediate measures: 停产整顿"]


def test_a_failed_spot_check_reopens_and_a_later_rectification_closes_again():
    run = Run()
    run.feed(finding(), ev("finding.rectified", "2026-05-20T10:00:00+08:00", finding_id="F1"),
             ev("spot_check.conducted", "2026-08-01T10:00:00+08:00", finding_ids=["F1"],
                result="not_rectified"))
    assert run.finding()["status"] == "reopened"
    run.feed(ev("finding.rectified", "2026-08-20T10:00:00+08:00", finding_id="F1"))
    assert run.finding()["status"] == "rectified"


def test_handling_after_rectification_does_not_undo_it():
    run = Run()
    run.feed(finding(), ev("finding.rectified", "2026-05-20T10:00:00+08:00", finding_id="F1"),
             ev("enforcement.document.issued", "2026-05-21T10:00:00+08:00", finding_id="F1"))
    assert run.finding()["status"] == "rectified"


def test_a_report_marks_the_listed_findings_and_records_unknown_ids_as_unmatched():
    run = Run()
    run.feed(schedule(), finding("F1"), finding("F2", time="2026-04-21T10:00:00+08:00"),
             ev("rectification.report.submitted", "2026-06-20T10:00:00+08:00",
                rectified_finding_ids=["F1", "F-unknown"], pending_finding_ids=["F2"]))
    assert run.finding("F1")["status"] == "rectified"
    assert run.finding("F2")["status"] == "pending"
    assert run.finding("F2")["history"][-1]["note"] == "listed as pending in report R-1"
    unmatched = run.states["changtai"].unmatched
    assert len(unmatched) == 1 and "unknown finding F-unknown" in unmatched[0]


def test_a_report_or_a_spot_check_for_unknown_things_never_crashes():
    run = Run()
    run.feed(ev("rectification.report.submitted", "2026-06-20T10:00:00+08:00",
                visit_id="visit-nowhere", rectified_finding_ids=["X"], pending_finding_ids=[]),
             ev("spot_check.conducted", "2026-08-01T10:00:00+08:00", finding_ids=["Y"],
                result="confirmed"),
             ev("finding.rectified", "2026-08-01T10:00:00+08:00", finding_id="Z"))
    unmatched = run.states["changtai"].unmatched
    assert len(unmatched) == 5 and "check for unknown visit visit-changtai" in unmatched[2]
    counts, notes = run.flow.irregular.drain()
    assert counts == {"noted": 5}
    assert notes == list(run.states["changtai"].unmatched)


@pytest.mark.parametrize(("evidence", "advice", "detail"), [
    ([], "限期整改", "general finding recorded without evidence"),
    (["photo.jpg"], None, "general finding recorded without advice"),
    (["photo.jpg"], "  ", "general finding recorded without advice"),
    ([""], None, "general finding recorded without evidence and advice"),
])
def test_a_general_finding_without_evidence_or_advice_is_recorded_and_a_breach(
        evidence, advice, detail):
    run = Run()
    found = run.feed(finding(category="general", evidence=evidence, advice=advice))
    assert [(b.kind, b.subject_id, b.detail) for b in found] == [
        ("evidence_or_advice_missing", "F1", detail)]
    assert found[0].due == found[0].breached_at
    assert run.finding()["status"] == "pending"


def test_a_complete_general_finding_and_other_categories_are_no_breach():
    run = Run()
    assert run.feed(finding(category="general", evidence=["p.jpg"], advice="整改")) == []
    assert run.feed(finding("F2", category="violation", evidence=[], advice=None)) == []


def test_the_general_rule_can_be_turned_off():
    run = Run(config.policy(Settings(general_evidence_rule=False)))
    assert run.feed(finding(category="general", evidence=[], advice=None)) == []


def test_duplicates_change_nothing():
    run = Run()
    recorded = finding(category="general", evidence=[], advice=None)
    rectified = ev("finding.rectified", "2026-05-20T10:00:00+08:00", finding_id="F1")
    run.feed(recorded, rectified)
    states = dict(run.states)
    assert run.feed(recorded, rectified) == []
    assert run.states == states and len(run.breaches) == 1


def test_the_assessment_keeps_inputs_and_no_score():
    run = Run()
    run.feed(schedule(), ev("visit.started", "2026-04-18T09:00:00+08:00"),
             finding("F1", "violation"), finding("F2", "general", evidence=[]),
             finding("F3", "major_hazard"),
             ev("visit.ended", "2026-04-28T17:00:00+08:00"),
             ev("finding.rectified", "2026-05-20T10:00:00+08:00", finding_id="F1"),
             ev("finding.rectified", "2026-05-20T10:00:00+08:00", finding_id="F3"),
             ev("spot_check.conducted", "2026-08-01T10:00:00+08:00", finding_ids=["F1"],
                result="confirmed"))
    breach = ev("deadline.breached", "2026-07-20T15:00:01+08:00", kind=
                "rectification_report_overdue", subject_id="visit-changtai",
                due="2026-07-20T15:00:00+08:00", breached_at="2026-07-20T15:00:01+08:00")
    run.feed(breach, breach)  # read twice: counted once
    result = assessment(run.states["changtai"], 2026, SHANGHAI)
    assert result == {
        "unit_id": "changtai", "year": 2026, "visit_done": True, "findings": 3,
        "findings_by_category": {"general": 1, "violation": 1, "major_hazard": 1,
                                 "major_issue": 0, "misconduct_clue": 0, "accountability": 0},
        "rectified_share": 2 / 3, "confirmed_share": 1 / 3, "report": "late",
        # Its own breach (F2's) kept as derived, another service's as read from the topic.
        "breaches_by_kind": {"evidence_or_advice_missing": 1,
                             "rectification_report_overdue": 1},
    }
    assert "score" not in result
    assert year_assessment(2026, [result])["units"] == [result]


def test_a_campaign_breach_at_the_year_end_counts_in_that_year():
    run = Run()
    run.feed(ev("deadline.breached", "2027-01-01T00:01:00+08:00",
                kind="campaign_coverage_incomplete", subject_id="zhangzhou-2026",
                due="2027-01-01T00:00:00+08:00", breached_at="2027-01-01T00:01:00+08:00"))
    assert assessment(run.states["changtai"], 2026, SHANGHAI)["breaches_by_kind"] == {
        "campaign_coverage_incomplete": 1}
    assert assessment(run.states["changtai"], 2027, SHANGHAI)["breaches_by_kind"] == {}

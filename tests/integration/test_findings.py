"""The findings service on the real broker, beside the scheduler: a visit's worth of findings
of every category, through the views."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.examples import event
from tests.integration.kafka_io import read_all

UNIT, VISIT = "changtai", "visit-2026-changtai"
DESCRIPTION = "危險化學品倉庫未按規定設置防爆設施,,（實(shí)現(xiàn)）"


def _ev(kind, time_, n, **data):
    body = event(kind, id=f"fx-{n:03d}", time=time_, subject=UNIT, correlationid=VISIT)
    body["data"].update(data)
    if "visit_id" in body["data"]:
        body["data"]["visit_id"] = VISIT
    return body


def scenario() -> list[dict]:
    n = iter(range(1000))
    out = [_ev("visit.scheduled", "2026-04-10T09:00:00+08:00", next(n))]
    out.append(_ev("visit.started", "2026-04-18T09:00:00+08:00", next(n)))
    categories = ["general", "general", "violation", "major_hazard", "major_issue",
                  "misconduct_clue", "accountability"]
    for i, category in enumerate(categories):
        out.append(_ev(
            "finding.recorded", f"2026-04-{19 + i}T10:00:00+08:00", next(n),
            finding_id=f"F{i}", category=category, description=DESCRIPTION if i == 0 else
            f"问题 {i}", evidence=[] if i == 1 else ["photo.jpg"],
            advice=None if i == 1 else "限期整改", cannot_ensure_safety=category == "violation"))
    out += [
        _ev("enforcement.document.issued", "2026-04-21T12:00:00+08:00", next(n), finding_id="F2"),
        _ev("immediate.measures.taken", "2026-04-21T13:00:00+08:00", next(n), finding_id="F2"),
        _ev("visit.ended", "2026-04-28T17:00:00+08:00", next(n)),
        _ev("feedback.delivered", "2026-05-05T10:00:00+08:00", next(n)),
        _ev("finding.rectified", "2026-05-20T10:00:00+08:00", next(n), finding_id="F3"),
        # Late (due 2026-07-05T10:00), and naming a finding nobody recorded.
        _ev("rectification.report.submitted", "2026-07-06T10:00:00+08:00", next(n),
            report_id="R-changtai", rectified_finding_ids=["F0", "F2", "F-unknown"],
            pending_finding_ids=["F4"]),
        _ev("spot_check.conducted", "2026-08-01T10:00:00+08:00", next(n),
            finding_ids=["F0", "F3"], result="confirmed"),
        _ev("spot_check.conducted", "2026-08-02T10:00:00+08:00", next(n),
            finding_ids=["F2"], result="not_rectified"),
    ]
    return out


EXPECTED_STATUS = {"F0": "confirmed", "F1": "pending", "F2": "reopened", "F3": "confirmed",
                   "F4": "pending", "F5": "pending", "F6": "pending"}


def _get(kafka, path: str):
    port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]) + 1  # findings
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def _eventually(read, check, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = read()
            if check(value):
                return value
        except (urllib.error.URLError, ConnectionError, KeyError):
            value = None
        if time.monotonic() > deadline:
            return value
        time.sleep(1)


def test_a_visits_findings_through_the_views(kafka, deployment):
    for service in ("scheduler", "findings"):
        deployment.start(service)
    deployment.publish(scenario())

    listing = _eventually(lambda: _get(kafka, f"/units/{UNIT}/findings"),
                          lambda v: v and {f["finding_id"]: f["status"] for f in v["findings"]}
                          == EXPECTED_STATUS)
    assert {f["finding_id"]: f["status"] for f in listing["findings"]} == EXPECTED_STATUS
    assert [f["finding_id"] for f in listing["findings"]] == list(EXPECTED_STATUS)
    first = listing["findings"][0]
    assert first["description"] == DESCRIPTION  # as sent, character for character

    assert listing["next_cursor"] is None
    walked, cursor = [], ""  # two at a time, in the order recorded
    while True:
        page = _get(kafka, f"/units/{UNIT}/findings?limit=2&cursor={cursor}")
        walked += [f["finding_id"] for f in page["findings"]]
        if not (cursor := page["next_cursor"]):
            break
    assert walked == list(EXPECTED_STATUS)
    visit_page = _get(kafka, f"/visits/{VISIT}/findings?limit=1")
    assert len(visit_page["findings"]) == 1 and visit_page["next_cursor"]

    pending = _get(kafka, f"/units/{UNIT}/findings?status=pending&category=general")
    assert [f["finding_id"] for f in pending["findings"]] == ["F1"]
    assert [f["finding_id"] for f in _get(kafka, f"/visits/{VISIT}/findings?status=confirmed")
            ["findings"]] == ["F0", "F3"]
    f2 = _get(kafka, "/findings/F2")
    assert [s["status"] for s in f2["history"]] == ["pending", "handled", "handled",
                                                    "rectified", "reopened"]
    assert f2["handling"][0].startswith("enforcement document ")

    # The report's lateness comes from the scheduler's breach, through the breaches topic.
    year = _eventually(lambda: _get(kafka, "/assessments/2026"),
                       lambda v: v and v["units"] and v["units"][0]["report"] == "late")
    assert year["units"] == [{
        "unit_id": UNIT, "year": 2026, "visit_done": True, "findings": 7,
        "findings_by_category": {"general": 2, "violation": 1, "major_hazard": 1,
                                 "major_issue": 1, "misconduct_clue": 1, "accountability": 1},
        "rectified_share": 2 / 7, "confirmed_share": 2 / 7, "report": "late",
        "breaches_by_kind": year["units"][0]["breaches_by_kind"],
    }]
    kinds = year["units"][0]["breaches_by_kind"]
    assert kinds["evidence_or_advice_missing"] == 1
    assert kinds["rectification_report_overdue"] == 1

    breaches = [json.loads(r.value) for r in read_all(kafka.bootstrap, deployment.topic("breaches"))]
    mine = [b for b in breaches if b["source"] == "urn:inspections:service:findings"]
    assert [(b["data"]["kind"], b["data"]["subject_id"]) for b in mine] == [
        ("evidence_or_advice_missing", "F1")]

    for bad in ("/findings/F-unknown", "/units/nowhere/findings"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(kafka, bad)
        assert missing.value.code == 404
    for bad in ("status=lost", "limit=0", "limit=5001", "cursor=F-unknown"):
        with pytest.raises(urllib.error.HTTPError) as wrong:
            _get(kafka, f"/units/{UNIT}/findings?{bad}")
        assert wrong.value.code == 400, bad

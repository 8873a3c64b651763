"""End to end on the real broker, all three services running: every category and every miss
path of escalation, checked against the public derived topics and the register."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request

from runtime.config.settings import Settings
from schemas import Rejection, decode
from schemas.envelope import breach_event as to_event
from schemas.envelope import notice_event
from services.escalation import config
from services.escalation.rules import Notice
from tests.integration.kafka_io import read_all
from tests.integration.support import escalation_scenario
from tests.unit.services.escalation.support import Run


def _expected(kafka, prefix) -> tuple[dict, dict]:
    """The escalation events and breaches the pure core derives from the log as it is."""
    run = Run(config.policy(Settings()))
    for record in sorted(read_all(kafka.bootstrap, f"{prefix}.events"),
                         key=lambda r: (r.partition, r.offset)):
        typed = decode(record.value, key=record.key)
        if not isinstance(typed, Rejection):
            run.feed(typed, partition=record.partition)
    notices = [notice_event(d, "escalation") for d in run.derived if isinstance(d, Notice)]
    breaches = [to_event(d, "escalation") for d in run.derived if hasattr(d, "kind")]
    return {e["id"]: e for e in notices}, {b["id"]: b for b in breaches}


def _read(kafka, topic, want, timeout_s=120, source=None):
    deadline = time.monotonic() + timeout_s
    while True:
        found = [json.loads(r.value) for r in read_all(kafka.bootstrap, topic)]
        if source:
            found = [f for f in found if f["source"] == source]
        if len(found) >= want or time.monotonic() > deadline:
            time.sleep(2)
            found = [json.loads(r.value) for r in read_all(kafka.bootstrap, topic)]
            return [f for f in found if not source or f["source"] == source]
        time.sleep(0.5)


def _get(kafka, path):
    port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]) + 2  # escalation
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        body = response.read()
    return body.decode() if path == "/metrics" else json.loads(body)


def _check_register(kafka, expected_status):
    deadline = time.monotonic() + 60
    while True:
        unit = _get(kafka, "/units/changtai/escalations")["escalations"]
        other = _get(kafka, "/units/pinghe/escalations")["escalations"]
        statuses = {e["escalation_id"]: e["status"] for e in unit + other}
        if statuses == expected_status or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert statuses == expected_status
    top = _get(kafka, "/escalations?authority=city_government&level=4")
    assert [e["escalation_id"] for e in top["escalations"]] == ["F2:issue_enforcement_document"]
    overdue = _get(kafka, "/escalations?overdue=true")
    assert {e["escalation_id"] for e in overdue["escalations"]} == {
        "F2:issue_enforcement_document", "F7:transfer_for_investigation"}
    # The register in pages: each page after the cursor of the one before, every open one
    # once; a bad limit is refused.
    whole = _get(kafka, "/escalations")
    assert whole["next_cursor"] is None and whole["open"] == len(whole["escalations"]) >= 2
    walked, cursor = [], ""
    while True:
        page = _get(kafka, f"/escalations?limit=1&cursor={cursor}")
        assert len(page["escalations"]) <= 1 and page["open"] == whole["open"]
        walked += page["escalations"]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert walked == whole["escalations"]
    try:
        _get(kafka, "/escalations?limit=0")
        raise AssertionError("limit=0 was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and "limit must be a number" in json.loads(exc.read())["error"]
    f2 = _get(kafka, "/escalations/F2:issue_enforcement_document")
    assert [(h["what"], h["level"], h["authority"]) for h in f2["history"]] == [
        ("raised", 1, "local_regulator"), ("missed", 1, "local_regulator"),
        ("escalated", 2, "city_safety_office"), ("missed", 2, "city_safety_office"),
        ("escalated", 3, "city_safety_committee"), ("missed", 3, "city_safety_committee"),
        ("escalated", 4, "city_government"), ("missed", 4, "city_government")]
    f5 = _get(kafka, "/escalations/F5:request_instructions")
    assert f5["acknowledged_by"] == ["city_safety_committee"] and f5["level"] == 2
    deadline = time.monotonic() + 30
    while True:
        metrics = _get(kafka, "/metrics")
        gauges = {(a, lvl): float(v) for a, lvl, v in re.findall(
            r'^inspections_escalations_open\{authority="(\w+)",level="(\d)"\} (\S+)$',
            metrics, re.M)}
        if gauges.get(("city_government", "4")) == 1.0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert gauges[("city_government", "4")] == 1.0  # F2
    assert gauges[("city_government", "3")] == 1.0  # F7
    assert re.search(r'^inspections_acknowledgements_unmatched_total\{type="escalation\.'
                     r'acknowledged"\} 1\.0$', metrics, re.M)


def _stack(deployment):
    for service in ("scheduler", "findings"):
        deployment.start(service)
    return deployment.prefix


def test_every_category_and_miss_path_end_to_end(kafka, deployment):
    prefix = _stack(deployment)
    events, expected_status = escalation_scenario()
    deployment.start("escalation")
    deployment.publish(events)
    notices, breaches = _expected(kafka, prefix)
    got_notices = _read(kafka, f"{prefix}.escalations", len(notices))
    got_breaches = _read(kafka, f"{prefix}.breaches", len(breaches),
                         source="urn:inspections:service:escalation")
    assert sorted(e["id"] for e in got_notices) == sorted(notices)  # each exactly once
    assert {e["id"]: e for e in got_notices} == notices
    assert sorted(b["id"] for b in got_breaches) == sorted(breaches)
    assert {b["id"]: b for b in got_breaches} == breaches
    kinds = sorted(b["data"]["kind"] for b in got_breaches)
    assert kinds == sorted(["enforcement_document_overdue"] * 2 + ["immediate_measures_overdue"]
                           + ["escalation_unacknowledged"] * 7)
    _check_register(kafka, expected_status)


def test_the_same_with_the_escalation_worker_killed_mid_way(kafka, deployment,
                                                            quick_takeover):
    prefix = _stack(deployment)
    events, expected_status = escalation_scenario()
    half = len(events) // 2
    first = deployment.start("escalation")
    deployment.publish(events[:half], "first.jsonl")
    _read(kafka, f"{prefix}.escalations", 3, timeout_s=90)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    deployment.publish(events[half:], "second.jsonl")
    deployment.start("escalation")
    notices, breaches = _expected(kafka, prefix)
    got_notices = _read(kafka, f"{prefix}.escalations", len(notices))
    got_breaches = _read(kafka, f"{prefix}.breaches", len(breaches),
                         source="urn:inspections:service:escalation")
    for got, want in ((got_notices, notices), (got_breaches, breaches)):
        by_id = {}
        for e in got:
            assert by_id.setdefault(e["id"], e) == e  # a copy, if any, is the same event
        assert by_id == want
        print(f"same-id copies after kill -9: {len(got) - len(by_id)}")
    _check_register(kafka, expected_status)

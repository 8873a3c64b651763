"""Corrections through the whole system: a campaign whose team amends one finding's category
and withdraws another, run through the three services on the real broker; the escalations
the corrections make unneeded are withdrawn (an ``escalation.withdrawn`` each), the newly
needed ones raised, the problem list keeps each amendment, and replay and audit verify agree
with every event and view."""

from __future__ import annotations

import json
import urllib.request

import yaml

from tests.faults.harness import Stack
from tests.integration.kafka_io import read_all

SCENARIO = {
    "name": "corrections-test",
    "seed": 5,
    "campaign": {"id": "corr-2026", "year": 2026, "title": "更正测试 corrections test",
                 "coverage_due": "2026-12-31", "planned_at": "2026-04-01T10:00:00+08:00"},
    "units": [{"id": "changtai", "name": "长泰县", "pinyin": "Changtai", "kind": "county",
               "townships": 9, "departments": 24}],
    "teams": [{"id": "team-1", "size": 8}],
    "visits": [{"unit": "changtai", "team": "team-1", "batch": 1, "phase": 1,
                "planned_start": "2026-04-18", "planned_end": "2026-04-28",
                "findings": {"general": 1},
                "special": [
                    {"category": "violation", "never_answered": True,
                     "amended_to": "major_hazard", "amended_after_h": 3},
                    {"category": "major_issue", "never_answered": True,
                     "withdrawn_after_h": 30}]}],
    "until": "2026-05-10T00:00:00+08:00",
}


def test_amended_and_withdrawn_findings_through_the_services_replay_and_verify(
        kafka, deployment, tmp_path):
    stack = Stack(deployment)
    stack.start_all()
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)
    stack.wait_ready()
    scenario = tmp_path / "corrections.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
    kafka.cli("simulate", str(scenario), "--speed", "0")
    stack.settle()

    notices = [json.loads(r.value) for r in read_all(kafka.bootstrap,
                                                     deployment.topic("escalations"))]
    withdrawn = {n["data"]["escalation_id"]: n for n in notices
                 if n["type"] == "escalation.withdrawn"}
    amended_id = "changtai-2026-b1-002"  # the first special after the one general finding
    assert f"{amended_id}:issue_enforcement_document" in withdrawn
    assert "amended" in withdrawn[f"{amended_id}:issue_enforcement_document"]["data"][
        "reason"]
    raised = {n["data"]["escalation_id"] for n in notices if n["type"] == "escalation.raised"}
    assert f"{amended_id}:report_major_hazard" in raised
    withdrawn_finding = "changtai-2026-b1-003"
    assert f"{withdrawn_finding}:request_instructions" in withdrawn
    # A breach emitted before the withdrawal stays; none comes after it.
    breaches = [json.loads(r.value) for r in read_all(kafka.bootstrap,
                                                      deployment.topic("breaches"))]
    mine = [b for b in breaches if b["data"]["subject_id"].startswith(withdrawn_finding)]
    gone_at = withdrawn[f"{withdrawn_finding}:request_instructions"]["time"]
    assert mine and all(b["time"] <= gone_at for b in mine)

    base = f"http://127.0.0.1:{stack.base_port('findings')}"
    view = json.loads(urllib.request.urlopen(f"{base}/findings/{amended_id}").read())
    assert view["category"] == "major_hazard"
    assert any(s["event_type"] == "finding.amended" and "'violation' → 'major_hazard'"
               in s["note"] for s in view["history"])
    gone = json.loads(urllib.request.urlopen(f"{base}/findings/{withdrawn_finding}").read())
    assert gone["status"] == "withdrawn"
    esc = f"http://127.0.0.1:{stack.base_port('escalation')}"
    register = json.loads(urllib.request.urlopen(f"{esc}/escalations").read())
    assert not any(e["escalation_id"] in withdrawn for e in register["escalations"])

    # The problem list on the operator page keeps each correction.
    base_page = f"http://127.0.0.1:{int(kafka.vars['INSPECTIONS_WEB_PORT_BASE']) + 3}"
    html = urllib.request.urlopen(f"{base_page}/units/changtai").read().decode()
    row = html.split(f'data-finding="{amended_id}"')[1].split("</tr>")[0]
    assert "amended (" in row.split('class="corrections"')[1]
    row = html.split(f'data-finding="{withdrawn_finding}"')[1].split("</tr>")[0]
    assert "withdrawn: " in row and ">withdrawn<" in row

    verified = kafka.cli("audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout
    assert "escalation.withdrawn" in verified.stdout
    from inspections.audit.replay import read_views

    kafka.cli("replay", "--out", str(tmp_path / "replay"))
    replayed = read_views(tmp_path / "replay" / "views")
    assert replayed["findings"][amended_id] == view
    assert replayed["findings"][withdrawn_finding] == gone
    live_withdrawn = json.loads(urllib.request.urlopen(
        f"{esc}/escalations/{amended_id}:issue_enforcement_document").read())
    assert live_withdrawn["status"] == "withdrawn"
    assert replayed["escalations"][f"{amended_id}:issue_enforcement_document"] == \
        live_withdrawn

"""The city's policy in the log, on the real broker through the three services: the scheduler
adopts the workers' starting policy when the log holds none; `inspections policy adopt`
changes a limit mid-campaign; what is raised after it takes the new limit and what was raised
before keeps its due time; every worker and the operator page show the history; a worker
whose starting policy differs from the log's says so; replay and audit verify of the whole log
derive exactly what the services derived live, before and after the change."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta

from tests.examples import event
from tests.integration.kafka_io import read_all, settled, wait_for

T0 = datetime.fromisoformat("2026-04-20T10:00:00+08:00")
AUTUMN = """\
# Documents within 2 hours from now on.
actions:
  issue_enforcement_document: {limit_h: 2}
"""


def _finding(n: int, at: datetime) -> dict:
    found = event("finding.recorded", id=f"plog-{n}", time=at.isoformat(), subject="changtai",
                  correlationid="visit-2026-changtai")
    found["data"] = {**found["data"], "unit_id": "changtai", "finding_id": f"P{n}",
                     "visit_id": "visit-2026-changtai", "category": "violation",
                     "cannot_ensure_safety": False, "listed_supervision_advised": False}
    return found


def _json(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _page(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.read().decode()
    except OSError:
        return None


def test_a_limit_changed_mid_campaign_applies_from_its_place_live_and_in_replay(
        kafka, deployment, tmp_path):
    from inspections.audit.replay import read_views

    kafka.vars["INSPECTIONS_ADOPT_STARTING_POLICY"] = "1"
    base = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
    scheduler, escalation = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 2}"
    workers = {service: deployment.start(service)
               for service in ("scheduler", "findings", "escalation")}
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)

    # The log held no policy: the scheduler's leader adopted its starting one.
    wait_for(lambda: _page(f"{escalation}/policy") and _json(f"{escalation}/policy")["history"],
             "the starting policy adopted into the log", timeout=180)
    starting = _json(f"{escalation}/policy")
    [first] = starting["history"]
    assert first["note"] == "the workers' starting policy" and not starting["starting"]["differs"]
    assert starting["actions"]["issue_enforcement_document"]["limit_h"] == 24

    deployment.publish([_finding(1, T0)], "before.jsonl")
    autumn = tmp_path / "autumn.yaml"
    autumn.write_text(AUTUMN)
    said = kafka.cli("policy", "adopt", str(autumn), "--id", "autumn", "--note", "documents in 2 h",
                     "--at", (T0 + timedelta(hours=1)).isoformat(), "--as", "city_safety_office")
    assert "policy autumn (sha256:" in said.stdout and "sent to 8 partitions" in said.stdout
    tick = event("clock.ticked", id="plog-tick", time=(T0 + timedelta(hours=5)).isoformat())
    deployment.publish([_finding(2, T0 + timedelta(hours=2)), tick], "after.jsonl")
    settled(kafka, deployment.prefix)

    def raised_due(n: int) -> str:
        raised = _json(f"{escalation}/escalations/P{n}:issue_enforcement_document")["history"][0]
        assert raised["what"] == "raised"
        return raised["due"]

    assert raised_due(1) == (T0 + timedelta(hours=24)).isoformat()  # before: keeps its 24 h
    assert raised_due(2) == (T0 + timedelta(hours=4)).isoformat()  # after: 2 h, missed at 5 h
    breaches = [json.loads(r.value)["data"] for r in
                read_all(kafka.bootstrap, deployment.topic("breaches"), timeout_s=5)]
    assert [(b["kind"], b["subject_id"]) for b in breaches] == [
        ("enforcement_document_overdue", "P2:issue_enforcement_document")]

    running = _json(f"{escalation}/policy")
    assert [a["policy_id"] for a in running["history"]] == [first["policy_id"], "autumn"]
    assert running["adopted"]["actor"] == "city_safety_office"
    assert running["adopted"]["note"] == "documents in 2 h"
    assert running["actions"]["issue_enforcement_document"]["limit_h"] == 2
    assert running["starting"]["differs"]  # the workers' own file is the seed's defaults
    assert _json(f"{scheduler}/policy")["digest"] == running["digest"]

    wait_for(lambda: _page(f"http://127.0.0.1:{base + 3}/policy") is not None,
             "the operator page", timeout=60)
    html = _page(f"http://127.0.0.1:{base + 3}/policy")
    assert 'data-policy="autumn"' in html and f'data-policy="{first["policy_id"]}"' in html
    assert 'id="starting-differs"' in html and 'id="differ"' not in html

    # A worker started again, once caught up, says its starting policy is not the log's.
    workers["escalation"].terminate()
    assert workers["escalation"].wait(timeout=60) == 0
    log = tmp_path / f"escalation-{len(deployment.workers)}.log"  # the name start gives it
    restarted = deployment.start("escalation")
    wait_for(lambda: "differs from the one the log adopted" in log.read_text(),
             "the warning of a policy file not the log's", timeout=180)
    assert restarted.poll() is None

    # Replay and verify read the log's policies from their places.
    verified = kafka.cli("audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout
    kafka.cli("replay", "--out", str(tmp_path / "replay"))
    replayed = read_views(tmp_path / "replay" / "views")["escalations"]
    for n in (1, 2):
        ident = f"P{n}:issue_enforcement_document"
        assert replayed[ident] == _json(f"{escalation}/escalations/{ident}")


def test_a_log_that_holds_events_and_no_policy_is_left_as_it_is_with_a_warning(
        kafka, deployment, tmp_path):
    kafka.vars["INSPECTIONS_ADOPT_STARTING_POLICY"] = "1"
    deployment.publish([_finding(1, T0)], "before.jsonl")
    log = tmp_path / f"scheduler-{len(deployment.workers)}.log"  # the name start gives it
    deployment.start("scheduler")
    wait_for(lambda: log.exists() and "the log holds events and no policy" in log.read_text(),
             "the warning of a log without a policy", timeout=180)
    base = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
    assert _json(f"http://127.0.0.1:{base}/policy")["history"] == []
    types = [json.loads(r.value)["type"] for r in
             read_all(kafka.bootstrap, deployment.topic("events"), timeout_s=5)]
    assert types == ["finding.recorded"]  # nothing adopted behind the log's events

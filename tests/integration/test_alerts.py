"""Breaches become alerts that reach whoever must act: a short campaign's breaches, forwarded
by `inspections notify` to a real Alertmanager (Debian's, with the repository's config) and
from it to the example webhook receiver, each alert labelled with its unit, the authority
that missed it and its escalation; forwarding again sends nothing new."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request

import yaml

from tests.conftest import REPO, free_port
from tests.integration.kafka_io import read_all, settled, wait_for

SCENARIO = {
    "name": "alerts-test",
    "seed": 3,
    "campaign": {"id": "alerts-2026", "year": 2026, "title": "告警测试 alerts test",
                 "coverage_due": "2026-12-31", "planned_at": "2026-04-01T10:00:00+08:00"},
    "units": [{"id": "changtai", "name": "长泰县", "pinyin": "Changtai", "kind": "county",
               "townships": 9, "departments": 24}],
    "teams": [{"id": "team-1", "size": 8}],
    "visits": [{"unit": "changtai", "team": "team-1", "batch": 1, "phase": 1,
                "planned_start": "2026-04-18", "planned_end": "2026-04-28",
                "findings": {"general": 1},
                "special": [{"category": "major_issue", "never_answered": True},
                            {"category": "general", "evidence": False}]}],
    "until": "2026-05-05T00:00:00+08:00",
}


def _alertmanager(tmp_path, receiver_port: int) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("prometheus-alertmanager")
    assert binary, "prometheus-alertmanager is missing: `make test` installs it"
    config = yaml.safe_load((REPO / "deploy/alertmanager/alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"http://127.0.0.1:{receiver_port}/alerts"
    config["route"]["group_wait"] = "1s"  # the test does not wait ten seconds
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={path}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=open(tmp_path / "alertmanager.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    wait_for(ready, "Alertmanager ready", 60)
    return proc, url


def test_each_breach_reaches_the_receiver_with_its_unit_authority_and_escalation(
        kafka, deployment, tmp_path):
    for service in ("scheduler", "findings", "escalation"):
        deployment.start(service)
    for service in ("scheduler", "findings", "escalation"):
        kafka.cli("ready", service, "--wait", "120")
    scenario = tmp_path / "alerts.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
    kafka.cli("simulate", str(scenario), "--speed", "0")

    receiver_port, received = free_port(), tmp_path / "received.jsonl"
    receiver = subprocess.Popen([sys.executable, "-m", "inspections.alert_receiver",
                                 "--port", str(receiver_port), "--out", str(received)],
                                cwd=REPO)
    deployment.workers.append(receiver)
    manager, url = _alertmanager(tmp_path, receiver_port)
    deployment.workers.append(manager)
    kafka.vars["INSPECTIONS_ALERTMANAGER_URL"] = url
    try:
        settled(kafka, deployment.prefix)
        breaches = [json.loads(r.value) for r in read_all(kafka.bootstrap,
                                                          deployment.topic("breaches"))]
        kinds = {b["data"]["kind"] for b in breaches}
        assert {"escalation_unacknowledged", "evidence_or_advice_missing"} <= kinds
        first = kafka.cli("notify", "--once")
        assert f"posted {len(breaches)} alerts" in first.stdout

        alerts: dict[str, dict] = {}

        def all_received() -> bool:
            if received.exists():
                for line in received.read_text().splitlines():
                    a = json.loads(line)
                    alerts[a["labels"]["breach_id"]] = a
            return set(alerts) == {b["id"] for b in breaches}

        wait_for(all_received, "every breach at the receiver", 90)
        for b in breaches:
            a = alerts[b["id"]]
            assert a["status"] == "firing"
            labels = a["labels"]
            assert (labels["alertname"], labels["kind"], labels["unit"]) == (
                "DeadlineBreached", b["data"]["kind"], "changtai")
            assert f"inspections audit trail {b['id']}" in a["annotations"]["description"]
            if b["data"]["kind"] == "escalation_unacknowledged":
                eid, level = b["data"]["deadline_id"].rsplit(":L", 1)
                assert labels["escalation_id"] == eid
                expected = {"1": "city_safety_committee", "2": "city_government"}[level]
                assert labels["authority"] == expected
                assert labels["severity"] == ("critical" if expected == "city_government"
                                              else "warning")
            else:
                assert "escalation_id" not in labels and "authority" not in labels

        again = kafka.cli("notify", "--once")
        assert "posted 0 alerts" in again.stdout  # its place was kept
    finally:
        kafka.vars.pop("INSPECTIONS_ALERTMANAGER_URL", None)

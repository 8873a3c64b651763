"""Breaches become alerts that reach whoever must act: a short campaign's breaches, forwarded
by `inspections notify` to a real Alertmanager (Debian's, with the repository's config) and
from it to the example webhook receiver (with its token), each alert labelled with its unit,
the authority that missed it and its escalation; forwarding again sends nothing new. A breach
is notified once and never "resolved"; a record on the breaches topic that is no breach is
skipped by a running notify, which carries on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone

import yaml

from tests.conftest import REPO, free_port
from tests.integration.kafka_io import produce, read_all, settled, wait_for
from tests.integration.support import MALFORMED, alertmanager, findings_breach, with_data

TOKEN = "receiver-token-0123"

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


def _receiver(tmp_path) -> tuple[subprocess.Popen, int, object]:
    """The example receiver, taking notifications with the token only."""
    token = tmp_path / "receiver-token"
    token.write_text(TOKEN + "\n")
    port, received = free_port(), tmp_path / "received.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "inspections.alerting.receiver",
                             "--port", str(port), "--out", str(received),
                             "--token-file", str(token)], cwd=REPO)
    return proc, port, received


def _lines(received) -> list[dict]:
    return [json.loads(line) for line in received.read_text().splitlines()] if (
        received.exists()) else []


def _alertmanager(tmp_path, receiver_port: int) -> tuple[subprocess.Popen, str]:
    config = yaml.safe_load((REPO / "deploy/alertmanager/alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"http://127.0.0.1:{receiver_port}/alerts"
            hook["http_config"]["authorization"]["credentials_file"] = str(
                tmp_path / "receiver-token")  # the repository's config sends the token
    # The test does not wait ten seconds, nor a minute between a group's notifications.
    config["route"]["group_wait"] = config["route"]["group_interval"] = "1s"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return alertmanager(path, tmp_path)


def test_each_breach_reaches_the_receiver_with_its_unit_authority_and_escalation(
        kafka, deployment, tmp_path):
    for service in ("scheduler", "findings", "escalation"):
        deployment.start(service)
    for service in ("scheduler", "findings", "escalation"):
        kafka.cli("ready", service, "--wait", "120")
    scenario = tmp_path / "alerts.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
    kafka.cli("simulate", str(scenario), "--speed", "0")

    receiver, receiver_port, received = _receiver(tmp_path)
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
            assert (a["status"], a["receiver"]) == ("firing", "breaches")
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

        # The top's miss is notified by its breach: Prometheus's EscalationMissedAtTop for the
        # same authority is held back while the breach's alert is (another's is not).
        top = {b["labels"].get("authority") for b in alerts.values()
               if b["labels"]["severity"] == "critical"}
        assert top == {"city_government"}
        _post(url, [_state("EscalationMissedAtTop", authority="city_government"),
                    _state("EscalationMissedAtTop", authority="provincial_safety_committee")])

        def inhibited() -> dict[str, bool]:
            found = _get(url, '/api/v2/alerts?filter=alertname="EscalationMissedAtTop"')
            return {a["labels"]["authority"]: bool(a["status"]["inhibitedBy"]) for a in found}

        wait_for(lambda: inhibited() == {"city_government": True,
                                         "provincial_safety_committee": False},
                 "the top's state alert held back by its breach's, another's not", 60)
    finally:
        kafka.vars.pop("INSPECTIONS_ALERTMANAGER_URL", None)


def _get(url: str, path: str):
    with urllib.request.urlopen(f"{url}{path}", timeout=15) as answer:
        return json.loads(answer.read())


def _post(url: str, alerts: list[dict]) -> None:
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=15).close()


def _state(name: str, seconds: float = 3600, **labels: str) -> dict:
    """An alert as Prometheus posts one (a state, critical), ending in ``seconds``."""
    now = datetime.now(timezone.utc)
    return {"labels": {"alertname": name, "severity": "critical", **labels},
            "annotations": {"summary": name}, "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(seconds=seconds)).isoformat()}


def test_a_running_notify_skips_records_that_are_no_breach_and_carries_on(
        kafka, deployment, tmp_path):
    receiver, receiver_port, received = _receiver(tmp_path)
    deployment.workers.append(receiver)
    manager, url = _alertmanager(tmp_path, receiver_port)
    deployment.workers.append(manager)
    kafka.vars["INSPECTIONS_ALERTMANAGER_URL"] = url
    try:
        topic = deployment.topic("breaches")
        first = findings_breach(1)
        produce(kafka.bootstrap, topic, [(b"changtai", json.dumps(first).encode())])
        notify = deployment.kafka.spawn("notify", log=tmp_path / "notify.log")
        deployment.workers.append(notify)

        def at_receiver(breach_id: str) -> bool:
            return any(a["labels"].get("breach_id") == breach_id for a in _lines(received))

        wait_for(lambda: at_receiver("breach-1"), "the first breach at the receiver", 120)
        # On the partition notify reads, the malformed ones, then an odd but well-formed one
        # (a level that is no ASCII digit), then a good one behind them all.
        odd = with_data(findings_breach(2), deadline_id="F2:L²")
        places = produce(kafka.bootstrap, topic, [(b"changtai", raw) for raw in MALFORMED]
                         + [(b"changtai", odd),
                            (b"changtai", json.dumps(findings_breach(3)).encode())])
        wait_for(lambda: at_receiver("breach-3"), "the breach behind the malformed ones", 120)
        assert at_receiver("breach-2")
        assert notify.poll() is None, "notify stopped"

        skipped = [json.loads(line) for line in (tmp_path / "notify.log").read_text()
                   .splitlines() if line.startswith("{") and "not a breach" in line]
        assert sorted(s["offset"] for s in skipped) == [p.offset for p in places[:-2]]
        assert all(s["reason"] and s["topic"] == topic for s in skipped)
        # Stopped as a supervisor stops it (SIGTERM; Ctrl-C the same): it ends after the batch
        # in hand and leaves its group as it goes (had it stayed a member, the notify below
        # would wait out kafka-python's 45 s session timeout before it was let in). Closing
        # commits nothing: what the notify below finds committed, the running one committed.
        notify.send_signal(signal.SIGTERM)
        assert notify.wait(timeout=60) == 0
        assert any('"signal": "SIGTERM"' in line and "stopping: asked to" in line
                   for line in (tmp_path / "notify.log").read_text().splitlines())
        assert "posted 0 alerts" in kafka.cli("notify", "--once").stdout  # all committed
    finally:
        kafka.vars.pop("INSPECTIONS_ALERTMANAGER_URL", None)


def test_a_breach_is_notified_once_and_never_resolved(kafka, deployment, tmp_path):
    """Its alert ends after the hold, and Alertmanager says nothing of it; a state that
    resolves (a worker down, as Prometheus posts it) is said to be resolved."""
    receiver, receiver_port, received = _receiver(tmp_path)
    deployment.workers.append(receiver)
    manager, url = _alertmanager(tmp_path, receiver_port)
    deployment.workers.append(manager)
    kafka.vars.update(INSPECTIONS_ALERTMANAGER_URL=url, INSPECTIONS_ALERT_HOLD_S="5")
    try:
        produce(kafka.bootstrap, deployment.topic("breaches"),
                [(b"changtai", json.dumps(findings_breach(n)).encode()) for n in (1, 2)])
        assert "posted 2 alerts" in kafka.cli("notify", "--once").stdout

        def breach_lines() -> list[dict]:
            return [a for a in _lines(received) if a["labels"]["alertname"] ==
                    "DeadlineBreached"]

        wait_for(lambda: len(breach_lines()) == 2, "both breaches at the receiver", 60)
        wait_for(lambda: not _get(url, '/api/v2/alerts?filter=alertname="DeadlineBreached"'),
                 "the breaches' alerts ended in Alertmanager", 60)
        # A state that ends after them: by the time its "resolved" is in, a breach's would be.
        _post(url, [_state("WorkerDown", seconds=6, service="escalation", instance="t:1")])
        wait_for(lambda: any(a["status"] == "resolved" and a["labels"]["alertname"] ==
                             "WorkerDown" for a in _lines(received)),
                 "the worker's alert resolved at the receiver", 60)
        assert [a["status"] for a in breach_lines()] == ["firing", "firing"]
        assert {a["receiver"] for a in breach_lines()} == {"breaches"}
    finally:
        kafka.vars.pop("INSPECTIONS_ALERTMANAGER_URL", None)
        kafka.vars.pop("INSPECTIONS_ALERT_HOLD_S", None)

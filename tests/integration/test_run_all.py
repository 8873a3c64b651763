"""One worker process of every service (``inspections run all``) on the real broker: it derives
what the three separate services derive (audit verify passes), its views under /<service> equal
a replay's, and the tools find it by ``INSPECTIONS_ALL_URL``."""

from __future__ import annotations

import json
import time
import urllib.request

from kernel.vocabulary import SERVICES
from runtime.config.settings import Settings
from runtime.faust_runner.app import web_port
from runtime.plumbing import metrics
from tests.integration.kafka_io import read_all, settled
from tests.integration.support import escalation_scenario
from tests.scenarios import CAMPAIGN, batch_1, year_end_ticks


def _events() -> list[dict]:
    events, _ = batch_1()
    escalation_events, _ = escalation_scenario()
    return sorted(events + escalation_events, key=lambda e: (e["time"], e["id"])) + \
        year_end_ticks()


def _get(base: str, path: str):
    with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
        return json.loads(response.read())


def _html(url: str, timeout_s: float = 60) -> str:
    """The page at ``url`` once it answers (the page's process may still be starting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_one_worker_of_every_service_derives_what_the_rules_say(kafka, deployment, tmp_path):
    from inspections.asking.due import merge
    from inspections.audit.replay import read_views
    from inspections.page.server import port
    from kernel.due import OWNERS

    prefix = deployment.prefix
    worker = deployment.start("all")
    events = _events()
    deployment.publish(events)
    settled(kafka, prefix, workers=["all"])
    assert worker.poll() is None
    settings = Settings(web_port_base=int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]))
    base = f"http://127.0.0.1:{web_port(settings, 'all')}"

    # What it derived is what the rules derive from the log, topic by topic.
    report = tmp_path / "report.json"
    verified = kafka.cli("audit", "verify", "--json", str(report), check=False)
    assert verified.returncode == 0, verified.stdout
    found = {t["topic"]: t["found"] for t in json.loads(report.read_text())["topics"]}
    assert found[f"{prefix}.breaches"] > 0 and found[f"{prefix}.escalations"] > 0
    # Every kind of breach was derived, the campaign side's among them (its breaches reach
    # findings through the topic, the others' in the batch that derived them).
    kinds = {json.loads(r.value)["data"]["kind"]
             for r in read_all(kafka.bootstrap, f"{prefix}.breaches")}
    assert "campaign_coverage_incomplete" in kinds and len(kinds) >= 4

    # Its views, each service's under its name, are a replay's.
    replayed = tmp_path / "replay"
    kafka.cli("replay", "--out", str(replayed))
    views = read_views(replayed / "views")
    assert _get(base, f"/scheduler/campaigns/{CAMPAIGN}") == views["campaigns"][CAMPAIGN]
    for unit in ("changtai", "pinghe"):
        assert _get(base, f"/scheduler/units/{unit}") == views["units"][unit]
    # The assessment counts every service's breaches: those handed over and those read.
    assessment = _get(base, "/findings/assessments/2026")
    assert assessment == views["assessments"]["2026"]
    escalations = _get(base, "/escalation/units/changtai/escalations")["escalations"]
    assert escalations
    for e in escalations:
        assert _get(base, f"/escalation/escalations/{e['escalation_id']}") == \
            views["escalations"][e["escalation_id"]]
    assert set(_get(base, "/scheduler/stream-time")["partitions"]) == {
        str(p) for p in range(settings.partitions)}

    # One consumer group, one app: its metrics name each service it hosts.
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    for service in SERVICES:
        assert f'{metrics.EVENTS_PROCESSED._name}_total{{service="{service}"' in text
    assert 'inspections_worker_ready{service="all"} 1.0' in text
    assert 'inspections_worker_ready{service="scheduler"}' not in text  # no alert for it

    # The tools ask it where it is.
    kafka.vars["INSPECTIONS_ALL_URL"] = base
    try:
        kafka.cli("ready", "all")
        status = json.loads(kafka.cli("status", "--json").stdout)
        assert list(status["workers"]) == ["all"] and status["workers"]["all"]["ready"]
        assert status["members"] == {"all": 1}
        assert sum(status["lag"]["all"].values()) == 0
        due = json.loads(kafka.cli("due", "--json").stdout)
        assert due["due"] and due == merge(
            {service: _get(base, f"/{service}/due") for service in OWNERS})
        # The operator page shows the board from it.
        page = kafka.spawn("operator", log=tmp_path / "operator.log")
        deployment.workers.append(page)
        board = _html(f"http://127.0.0.1:{port(settings)}/")
        assert 'data-unit="changtai"' in board and "data-escalation=" in board
        assert "campaign_coverage_incomplete" in board
    finally:
        kafka.vars.pop("INSPECTIONS_ALL_URL")

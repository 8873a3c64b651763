"""The city's policy file on the real broker: the escalation service climbs the city's ladder
with its limits, every worker and the operator page say the policy they run, `inspections
policy show` prints it, and a bad file stops a worker before it starts, naming the line."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta

from tests.examples import event
from tests.integration.kafka_io import read_all, wait_for

T0 = datetime.fromisoformat("2026-04-20T10:00:00+08:00")
CITY = """\
# Zhangzhou's own: a regulator's miss goes straight to the committee; documents within 2 h.
ladder:
  local_regulator: city_safety_committee
actions:
  issue_enforcement_document: {limit_h: 2}
level_up_h: 5
"""


def _events() -> list[dict]:
    finding = event("finding.recorded", id="pol-1", time=T0.isoformat(), subject="changtai",
                    correlationid="visit-2026-changtai")
    finding["data"] = {**finding["data"], "unit_id": "changtai", "finding_id": "P1",
                       "visit_id": "visit-2026-changtai", "category": "violation",
                       "cannot_ensure_safety": False, "listed_supervision_advised": False}
    tick = event("clock.ticked", id="pol-tick", time=(T0 + timedelta(hours=3)).isoformat())
    return [finding, tick]


def _json(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_escalation_service_runs_the_citys_ladder_and_says_so(kafka, deployment,
                                                                  tmp_path):
    city = tmp_path / "city.yaml"
    city.write_text(CITY)
    kafka.vars["INSPECTIONS_POLICY_FILE"] = str(city)
    try:
        shown = kafka.cli("policy", "show").stdout
        assert f"from {city}" in shown and "local_regulator: city_safety_committee" in shown
        for service in ("scheduler", "escalation"):
            deployment.start(service)
        page = kafka.spawn("operator", log=tmp_path / "operator.log")
        deployment.workers.append(page)
        deployment.publish(_events())

        def escalated() -> list[dict]:
            return [json.loads(r.value) for r in read_all(
                kafka.bootstrap, deployment.topic("escalations"), timeout_s=5)
                if json.loads(r.value)["type"] == "escalation.escalated"]

        wait_for(lambda: escalated(), "the escalation to climb", timeout=180)
        [up] = escalated()
        assert up["data"]["authority"] == "city_safety_committee"  # not the city safety office
        assert up["data"]["level"] == 2
        assert up["data"]["due"] == (T0 + timedelta(hours=7)).isoformat()  # 2 h, then 5 h

        base = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
        running = _json(f"http://127.0.0.1:{base + 2}/policy")
        assert running["source"] == str(city)
        assert running["ladder"]["local_regulator"] == "city_safety_committee"
        assert running["actions"]["issue_enforcement_document"]["limit_h"] == 2
        assert _json(f"http://127.0.0.1:{base}/policy") == running  # the scheduler's too

        def page_shows() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{base + 3}/policy",
                                            timeout=10) as answer:
                    return answer.read().decode()
            except OSError:
                return None

        wait_for(lambda: page_shows() is not None, "the operator page", timeout=60)
        html = page_shows()
        assert str(city) in html and 'id="differ"' not in html
        row = html[html.index('data-authority="local_regulator"'):]
        assert "市政府安委会 city safety committee" in row[:row.index("</tr>")]
    finally:
        kafka.vars.pop("INSPECTIONS_POLICY_FILE", None)


def test_a_bad_policy_file_stops_a_worker_before_it_starts_naming_the_line(kafka, tmp_path):
    city = tmp_path / "city.yaml"
    city.write_text("team:\n  min_size: 12\n  max_size: 10\n")
    kafka.vars["INSPECTIONS_POLICY_FILE"] = str(city)
    try:
        done = kafka.cli("run", "escalation", check=False, timeout=60)
    finally:
        kafka.vars.pop("INSPECTIONS_POLICY_FILE", None)
    assert done.returncode == 2
    assert f"policy file {city}, line 2: min_size 12 is above max_size 10" in done.stderr

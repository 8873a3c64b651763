"""Recovery for every service: a findings or escalation worker whose local state is deleted
(its RocksDB files gone) rebuilds it from its changelogs on restart; its views are what they
were and it derives nothing again. (The scheduler's: tests/integration/test_audit.py.)"""

from __future__ import annotations

import json
import shutil
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.kafka_io import read_all, settled
from tests.integration.support import escalation_scenario
from tests.scenarios import BATCH_1, batch_1, year_end_ticks

SERVICES = ("scheduler", "findings", "escalation")
UNITS = [u for u, *_ in BATCH_1]


def _get(kafka, service: str, path: str):
    port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]) + SERVICES.index(service)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code


def _views(kafka, service: str) -> dict:
    if service == "findings":
        paths = ["/assessments/2026", *(f"/units/{u}/findings" for u in UNITS)]
    else:
        register = _get(kafka, "escalation", "/escalations")
        ids = [e["escalation_id"] for e in register["escalations"]] if isinstance(
            register, dict) else []
        paths = ["/escalations", *(f"/units/{u}/escalations" for u in UNITS),
                 *(f"/escalations/{i}" for i in ids)]
    return {path: _get(kafka, service, path) for path in paths}


def _derived(kafka, deployment) -> list[str]:
    return sorted(json.loads(r.value)["id"] for topic in ("breaches", "escalations")
                  for r in read_all(kafka.bootstrap, deployment.topic(topic)))


@pytest.mark.parametrize("service", ["findings", "escalation"])
def test_a_lost_state_store_is_rebuilt_from_the_changelogs(kafka, deployment, tmp_path,
                                                           service):
    workers = {s: deployment.start(s) for s in SERVICES}
    events, _ = batch_1()
    escalations, _ = escalation_scenario()
    deployment.publish(sorted(events + escalations, key=lambda e: (e["time"], e["id"]))
                       + year_end_ticks())
    settled(kafka, deployment.prefix)
    before, derived = _views(kafka, service), _derived(kafka, deployment)
    assert any(isinstance(v, dict) for v in before.values())
    if service == "findings":
        assert any(u["breaches_by_kind"] for u in before["/assessments/2026"]["units"])

    worker = workers[service]
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    state = tmp_path / "home" / "state" / f"{deployment.prefix}-{service}"
    assert state.is_dir()
    shutil.rmtree(state)  # the RocksDB files are gone
    deployment.start(service)
    kafka.cli("ready", service, "--wait", "120")
    deadline, after = time.monotonic() + 120, None
    while time.monotonic() < deadline:
        after = _views(kafka, service)
        if after == before:
            break
        time.sleep(1)
    assert after == before
    settled(kafka, deployment.prefix)
    assert _derived(kafka, deployment) == derived  # nothing derived again

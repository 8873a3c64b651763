"""The gate on the real broker: kafka-python in, the scheduler worker, inspections.rejected out."""

from __future__ import annotations

import base64
import json
import re
import signal
import time
import urllib.request

import pytest

from schemas import MAX_RECORD_BYTES
from tests.examples import event, raw
from tests.integration.kafka_io import produce, read_all


def _read_rejections(kafka) -> dict[tuple[int, int], dict]:
    out: dict[tuple[int, int], dict] = {}
    for record in read_all(kafka.bootstrap, "inspections.rejected"):
        rejection = json.loads(record.value)
        where = (rejection["data"]["partition"], rejection["data"]["offset"])
        assert where not in out, f"rejected twice: {where}"
        out[where] = rejection
    return out


def _rejections(kafka, awaited: set) -> dict[tuple[int, int], dict]:
    """Every rejection on the topic by source position, once ``awaited`` are all in."""
    deadline = time.monotonic() + 90
    while not awaited <= set(_read_rejections(kafka)) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)  # anything extra arrives before the caller counts
    return _read_rejections(kafka)


def _metrics(kafka) -> dict[str, float]:
    port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    found = re.findall(r'^inspections_records_rejected_total\{cause="(\w+)"\} (\S+)$', text, re.M)
    return {cause: float(value) for cause, value in found}


@pytest.fixture
def scheduler(kafka, tmp_path):
    log = tmp_path / "scheduler.log"
    proc = kafka.spawn("run", "scheduler", log=log)
    yield proc, log
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_mix_of_good_and_bad_records_gives_exactly_the_bad_ones_once(kafka, scheduler, tmp_path):
    proc, log = scheduler
    oversize = json.dumps({**event("visit.started"), "pad": "x" * MAX_RECORD_BYTES}).encode()
    good = [(b"changtai", raw("visit.started", id=f"good-{i}")) for i in range(5)]
    good += [(b"changtai", raw("finding.recorded")), (None, raw("clock.ticked"))]
    bad = {
        "not_json": (b"changtai", b"not json"),
        "schema": (b"pinghe", json.dumps({**event("visit.started"), "time": "2026-04-18"}).encode()),
        "not_utf8": (None, b"\xff\xfe binary"),
        "unknown_type": (b"changtai", raw("visit.started", type="visit.paused")),
        "wrong_key": (b"pinghe", raw("finding.recorded")),
        "oversize": (b"changtai", oversize),
    }
    sent = produce(kafka.bootstrap, "inspections.events", good + list(bad.values()))
    ours = {(m.partition, m.offset) for m in sent}
    bad_at = {
        (m.partition, m.offset): (cause, value)
        for m, (cause, (_, value)) in zip(sent[len(good):], bad.items())
    }

    rejected = {k: v for k, v in _rejections(kafka, set(bad_at)).items() if k in ours}
    assert set(rejected) == set(bad_at)
    for where, rejection in rejected.items():
        cause, original = bad_at[where]
        assert rejection["type"] == "record.rejected"
        assert base64.b64decode(rejection["data"]["value_base64"]) == original
        assert rejection["data"]["topic"] == "inspections.events"
        assert rejection["data"]["value_bytes"] == len(original)
        assert rejection["data"]["reason"]
    by_cause = {bad_at[w][0]: r["data"]["reason"] for w, r in rejected.items()}
    assert by_cause["not_json"].startswith("not JSON: ")
    assert by_cause["not_utf8"].startswith("not UTF-8: ")
    assert by_cause["unknown_type"].startswith('type: unknown event type "visit.paused"')
    assert by_cause["wrong_key"] == 'key: should be the subject "changtai" (got "pinghe")'
    assert by_cause["oversize"] == f"record is {len(oversize)} bytes, larger than 524288 bytes"
    assert by_cause["schema"].startswith("time: ")

    counted = _metrics(kafka)
    for cause in bad:
        assert counted.get(cause, 0) >= 1, (cause, counted)

    # A clean stop commits; a restart processes only what is new: nothing rejected twice.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    again = kafka.spawn("run", "scheduler", log=tmp_path / "scheduler-2.log")
    try:
        more = produce(kafka.bootstrap, "inspections.events", [(b"x", b"{}")])
        new = (more[0].partition, more[0].offset)
        rejected = _rejections(kafka, {new})
        assert {k for k in rejected if k in ours | {new}} == set(bad_at) | {new}
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    warned = [line for line in lines if line.get("event") == "record rejected"]
    assert {(w["partition"], w["offset"]) for w in warned} >= set(bad_at)
    assert all(w["service"] == "scheduler" for w in warned)


def test_run_refuses_an_unknown_service(kafka):
    done = kafka.cli("run", "payroll", check=False)
    assert done.returncode == 2
    assert "unknown service 'payroll'" in done.stderr

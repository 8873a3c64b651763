"""The first real path: kafka-python in, the scheduler worker, the derived topic out."""

from __future__ import annotations

import base64
import json
import signal
import time

import pytest

from tests.integration.kafka_io import produce, read_all

GOOD = {
    "specversion": "1.0", "id": "w-1", "source": "urn:inspections:team:T1",
    "type": "visit.started", "time": "2026-04-18T09:00:00+08:00", "subject": "changtai",
    "data": {"visit_id": "v-changtai", "unit_id": "changtai"},
}


def _event(**changes) -> bytes:
    return json.dumps({**GOOD, **changes}, ensure_ascii=False).encode()


def _read_rejections(kafka) -> dict[tuple[int, int], dict]:
    out: dict[tuple[int, int], dict] = {}
    for record in read_all(kafka.bootstrap, "inspections.rejected"):
        event = json.loads(record.value)
        where = (event["data"]["partition"], event["data"]["offset"])
        assert where not in out, f"rejected twice: {where}"
        out[where] = event
    return out


def _rejections(kafka, awaited: set) -> dict[tuple[int, int], dict]:
    """Every rejection on the topic by source position, once ``awaited`` are all in."""
    deadline = time.monotonic() + 90
    while not awaited <= set(_read_rejections(kafka)) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)  # anything extra arrives before the caller counts
    return _read_rejections(kafka)


@pytest.fixture
def scheduler(kafka, tmp_path):
    log = tmp_path / "scheduler.log"
    proc = kafka.spawn("run", "scheduler", log=log)
    yield proc, log
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_worker_round_trip_through_the_gate(kafka, scheduler, tmp_path):
    proc, log = scheduler
    good = [(b"changtai", _event(id=f"w-{i}")) for i in range(5)]
    bad = [
        (b"changtai", b"not json"),
        (b"pinghe", _event(time="2026-04-18T09:00:00")),
        (None, b"\xff\xfe binary"),
    ]
    sent = produce(kafka.bootstrap, "inspections.events", good + bad)
    ours = {(m.partition, m.offset) for m in sent}
    bad_at = {(m.partition, m.offset): value for m, (_, value) in zip(sent[5:], bad)}

    rejected = {k: v for k, v in _rejections(kafka, set(bad_at)).items() if k in ours}
    assert set(rejected) == set(bad_at)
    for where, event in rejected.items():
        assert event["type"] == "record.rejected"
        assert base64.b64decode(event["data"]["value_base64"]) == bad_at[where]
        assert event["data"]["topic"] == "inspections.events"
        assert event["data"]["reason"]
    reasons = sorted(e["data"]["reason"].split(":")[0] for e in rejected.values())
    assert reasons == ["not JSON", "not UTF-8", "time"]

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
    assert {(w["partition"], w["offset"]) for w in warned} == set(bad_at)
    assert all(w["service"] == "scheduler" for w in warned)


def test_run_refuses_an_unknown_service(kafka):
    done = kafka.cli("run", "payroll", check=False)
    assert done.returncode == 2
    assert "unknown service 'payroll'" in done.stderr

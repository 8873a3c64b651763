"""The scheduler on the real broker: the seed's batch 1 with one broken rule of each kind."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import pytest

from schemas import Rejection, decode
from tests.integration.kafka_io import read_all
from tests.integration.support import SCHEDULER_KINDS
from tests.scenarios import CAMPAIGN, batch_1, year_end_ticks
from tests.unit.services.scheduler.support import Run


def _breaches(kafka, prefix, want: int, timeout_s: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_all(kafka.bootstrap, f"{prefix}.breaches")
        if len(records) >= want or time.monotonic() > deadline:
            time.sleep(2)  # anything extra arrives before counting
            return [json.loads(r.value) for r in read_all(kafka.bootstrap, f"{prefix}.breaches")]
        time.sleep(0.5)


def _expected_by_core(kafka, prefix) -> dict[str, dict]:
    """What the pure core derives from the log as it is, partition by partition, by id."""
    from schemas.envelope import breach_event as to_event

    run = Run(partitions=8)
    records = read_all(kafka.bootstrap, f"{prefix}.events")
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        typed = decode(record.value, key=record.key)
        if not isinstance(typed, Rejection):
            run.feed(typed, partition=record.partition)
    return {ev["id"]: ev for ev in (to_event(b, "scheduler") for b in run.breaches)}


def _get(kafka, path: str):
    port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def test_batch_1_gives_exactly_the_expected_breaches_once_each(kafka, deployment):
    prefix = deployment.prefix
    events, expected = batch_1()
    noise = [events[5], events[20]]  # redelivered by upstream: same ids
    deployment.publish(events + noise + year_end_ticks())
    deployment.start("scheduler")
    found = _breaches(kafka, prefix, want=len(expected))
    assert sorted((b["data"]["unit_id"], b["data"]["kind"]) for b in found) == sorted(expected)
    assert len({b["id"] for b in found}) == len(found)
    assert {b["data"]["kind"] for b in found} == SCHEDULER_KINDS

    by_core = _expected_by_core(kafka, prefix)
    assert {b["id"]: b for b in found} == by_core  # the wiring adds nothing to the core

    for b in found:
        assert b["source"] == "urn:inspections:service:scheduler"
        assert b["causationid"] and b["correlationid"]
    campaign = _get(kafka, f"/campaigns/{CAMPAIGN}")
    assert (campaign["units_planned"], campaign["units_inspected"]) == (8, 7)
    assert campaign["units_missing"] == ["gulei"]
    nanjing = _get(kafka, "/units/nanjing")["visits"][0]
    assert (nanjing["days_on_site"], nanjing["required_days"]) == (9, 10)
    visit = _get(kafka, "/visits/visit-2026-changtai")
    assert visit["coverage"]["township"] == {"visited": 5, "total": 10, "share": 0.5,
                                             "required_share": 0.6, "met": False}
    with pytest.raises(urllib.error.HTTPError) as missing:
        _get(kafka, "/visits/visit-nowhere")
    assert missing.value.code == 404


def test_a_worker_killed_mid_way_and_restarted_gives_the_same_set(kafka, deployment,
                                                                  quick_takeover):
    prefix = deployment.prefix
    events, expected = batch_1()
    half = len(events) // 2
    first = deployment.start("scheduler")
    deployment.publish(events[:half], "first.jsonl")
    # Kill it while it works through the first half (it has shown some breaches).
    _breaches(kafka, prefix, want=2, timeout_s=90)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    deployment.publish(events[half:] + year_end_ticks(), "second.jsonl")
    deployment.start("scheduler")
    found = _breaches(kafka, prefix, want=len(expected))
    by_id = {}
    for b in found:
        assert by_id.setdefault(b["id"], b) == b  # a copy, if any, is the same event
    assert by_id == _expected_by_core(kafka, prefix)
    assert sorted((b["data"]["unit_id"], b["data"]["kind"]) for b in by_id.values()) == sorted(
        expected)
    copies = len(found) - len(by_id)
    print(f"same-id copies after kill -9: {copies}")


def test_the_clock_publisher_ticks_every_partition_from_one_worker_only(kafka, deployment):
    prefix = deployment.prefix
    kafka.vars["INSPECTIONS_CLOCK_INTERVAL_S"] = "1"
    workers = [deployment.start("scheduler"), deployment.start("scheduler")]
    deadline = time.monotonic() + 90
    ticks = []
    while time.monotonic() < deadline:
        ticks = [(r.partition, json.loads(r.value))
                 for r in read_all(kafka.bootstrap, f"{prefix}.events")]
        if len({p for p, _ in ticks}) == 8 and len(ticks) >= 8 * 8:
            break
        time.sleep(1)
    assert {p for p, _ in ticks} == set(range(8))
    assert {t["type"] for _, t in ticks} == {"clock.ticked"}
    assert {t["source"] for _, t in ticks} == {"urn:inspections:clock:scheduler"}
    publishers = {t["clockpublisher"] for _, t in ticks}
    assert len(publishers) == 1
    assert publishers <= {f"{os.uname().nodename}:{w.pid}" for w in workers}
    for _, t in ticks:
        assert not isinstance(decode(json.dumps(t).encode(), key=None), Rejection)

"""Bad and odd input mixed into a run: the records that once stopped every service on every
partition, and 10,000 that break the contract: each lands once in ``inspections.rejected``
with its cause and a reason, the campaign's outputs are what they are without them, events
out of the usual course are counted and recorded, and no worker falls over."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request
from collections import Counter

import pytest

from schemas import decode
from tests.faults import bad_records
from tests.faults.harness import (
    LONG,
    SCENARIO,
    SPEED,
    Publication,
    Stack,
    check,
    derived_counts,
    error_lines,
    figure,
)
from tests.integration.kafka_io import produce, read_all


def _without_bad_input(settings) -> dict[str, set[str]]:
    """The ids the scenario alone derives: its records through the cores, in memory."""
    from inspections.audit.replay import Pipeline
    from inspections.simulation import simulate
    from runtime.config import topics

    plan = simulate.load(simulate.find(SCENARIO))
    records = simulate.as_records(simulate.timeline(plan), topics.name(settings, topics.EVENTS),
                                  settings.partitions)
    derived = Pipeline(settings).run(records).derived_by_topic()
    return {topic.split(".", 1)[1]: {e["id"] for e in events} for topic, events in derived.items()}


@pytest.fixture
def default_bound(kafka):
    """The deployment's workers, replay and verify with the default time-ahead bound (the
    suite's deployments allow a century)."""
    before = kafka.vars.pop("INSPECTIONS_MAX_TIME_AHEAD", None)
    yield
    if before is not None:
        kafka.vars["INSPECTIONS_MAX_TIME_AHEAD"] = before


def _produce_to(bootstrap: str, topic: str, records: list[tuple[int, bytes | None, bytes]]):
    """Send (partition, key, value) each to its partition; each record's metadata."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=20000,
                             max_request_size=8 * 2**20)
    try:
        futures = [producer.send(topic, key=k, value=v, partition=p) for p, k, v in records]
        producer.flush()
        return [f.get(timeout=30) for f in futures]
    finally:
        producer.close()


@pytest.mark.timeout(1800)
def test_nasty_and_ten_thousand_bad_records_are_each_rejected_once_and_stop_nothing(
        kafka, default_bound, deployment, tmp_path):
    """First, on every partition, each record that once stopped every service
    (``tests/fuzz/corpus.py``): a partition one of them stopped would hold the whole campaign
    behind it. Then the campaign, 10,000 records that break the contract spread over it."""
    from runtime.config.settings import Settings
    from tests.fuzz.corpus import CASES

    settings = Settings(topic_prefix=deployment.prefix)
    nasty = [c for c in CASES if c.outcome != "accepted"]
    count = 10_000
    bad = bad_records.records(count, seed=11, huge_ones=20 if LONG else 10)
    stack = Stack(deployment)
    stack.start_all()
    stack.wait_ready()
    first = _produce_to(kafka.bootstrap, deployment.topic("events"),
                        [(p, c.key, c.value) for p in range(settings.partitions) for c in nasty])
    expected = {(m.partition, m.offset): c.outcome
                for m, c in zip(first, [c for _ in range(settings.partitions) for c in nasty])}
    run = stack.simulate(speed=SPEED)
    publication = Publication(stack, run)
    publication.others = len(first)
    sent = []
    started = time.monotonic()
    chunks = 20
    try:
        for i in range(chunks):  # spread over the run: chunk i once i/20 of it is published
            publication.until(i / chunks)
            part = bad[i * count // chunks:(i + 1) * count // chunks]
            publication.others += len(part)
            sent += produce(kafka.bootstrap, deployment.topic("events"),
                            [(key, value) for key, value, _ in part])
    finally:
        publication.close()
    published_in = time.monotonic() - started
    assert run.wait(timeout=600) == 0
    stack.settle()
    result = check(stack, tmp_path)

    # Each bad record once in inspections.rejected, with a reason, by its place in the log.
    places = {(m.partition, m.offset): (key, value)
              for m, (key, value, _) in zip(sent, bad)}
    rejected = [json.loads(r.value) for r in read_all(kafka.bootstrap,
                                                      deployment.topic("rejected"))]
    found = Counter((r["data"]["partition"], r["data"]["offset"]) for r in rejected)
    assert set(found) == set(places) | set(expected)
    assert set(found.values()) == {1}
    assert max(len(r["data"]["reason"]) for r in rejected) <= 2000
    for r in rejected:  # the original bytes and key, kept: nothing is lost
        place = (r["data"]["partition"], r["data"]["offset"])
        if place in expected:  # the nasty ones, each with its cause
            assert r["data"]["cause"] == expected[place], place
            continue
        key, value = places[place]
        assert base64.b64decode(r["data"]["value_base64"]) == value
        assert r["data"]["key_base64"] == (base64.b64encode(key).decode() if key else None)
        assert r["data"]["reason"] == decode(value, key=key).reason
    causes = Counter(decode(value, key=key).cause for key, value, _ in bad)  # the gate's

    # The campaign's outputs are the scenario's alone; every view as the replay's.
    alone = _without_bad_input(settings)
    by_id = {t["topic"].split(".", 1)[1]: t for t in result.verify["topics"]}
    assert result.problems() == []
    for name in ("escalations", "breaches"):
        assert by_id[name]["computed"] == len(alone[name]) > 0
    assert by_id["rejected"]["computed"] == count + len(expected)

    # No worker restarted or logged an error.
    assert len(stack.alive()) == 3 and all(w.starts == 1 for ws in stack.workers.values()
                                           for w in ws)
    assert error_lines(w.log for ws in stack.workers.values() for w in ws) == []
    figure("nasty records", f"{len(first)} on {settings.partitions} partitions before the "
                            f"campaign, by cause {dict(Counter(expected.values()))}")
    figure("bad input", f"{count} records ({dict(Counter(k for _, _, k in bad))}) published "
                        f"in {published_in:.0f} s beside the scenario")
    figure("bad input rejected", f"{len(rejected)} (each once: {set(found.values()) == {1}}), "
                                 f"by cause {dict(causes)}")
    result.report("bad input")


def _irregular(port: int) -> dict[str, float]:
    """``inspections_events_irregular_total`` of a worker, by kind."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {dict(re.findall(r'(\w+)="([^"]*)"', labels))["kind"]: float(value)
            for labels, value in re.findall(
                r"^inspections_events_irregular_total\{(.*?)\} (\S+)$", text, re.M)}


@pytest.mark.timeout(900)
def test_late_and_odd_events_are_counted_and_recorded_never_a_crash(kafka, deployment,
                                                                  tmp_path):
    from tests.examples import event
    from tests.scenarios import batch_1, year_end_ticks

    stack = Stack(deployment)
    stack.start_all()
    events, _ = batch_1()
    deployment.publish(events + year_end_ticks(), "campaign.jsonl")
    stack.settle()
    before = check(stack, tmp_path / "before")
    odd = [
        # Months before stream time (the year-end tick): applied as it comes.
        {**event("finding.recorded", id="odd-late-finding", time="2026-05-02T10:00:00+08:00"),
         "subject": "changtai"},
        # Naming things nobody raised or planned.
        event("escalation.acknowledged", id="odd-ack", time="2027-01-02T10:00:00+08:00",
              data={**event("escalation.acknowledged")["data"],
                    "escalation_id": "F-nobody:report_major_hazard"}),
        event("rectification.report.submitted", id="odd-report",
              time="2027-01-02T11:00:00+08:00",
              data={**event("rectification.report.submitted")["data"],
                    "visit_id": "visit-nowhere", "rectified_finding_ids": ["F-nowhere"]}),
        event("visit.ended", id="odd-end", time="2027-01-02T12:00:00+08:00",
              data={**event("visit.ended")["data"], "visit_id": "visit-never-scheduled"}),
        events[3],  # a duplicate: an id processed before
    ]
    deployment.publish(odd, "odd.jsonl")
    stack.settle()
    after = check(stack, tmp_path / "after")
    assert after.problems() == []  # what the rules make of them, no more, no less
    base = stack.base_port
    counts = {service: _irregular(base(service))
              for service in ("scheduler", "findings", "escalation")}
    assert counts["scheduler"]["late"] >= 1
    assert counts["scheduler"]["noted"] >= 2  # the report and the end, never scheduled
    assert counts["scheduler"]["duplicate"] >= 1
    assert counts["findings"]["noted"] >= 1  # the report's unknown finding
    assert counts["escalation"]["noted"] >= 1  # the stray acknowledgement
    assert counts["escalation"]["late"] >= 1
    unit = json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{base('scheduler')}/units/changtai", timeout=10).read())
    assert any("odd-end" in a for a in unit["anomalies"])
    logs = "".join(w.log.read_text() for ws in stack.workers.values() for w in ws)
    assert logs.count('"anomaly noted"') >= 4
    assert len(stack.alive()) == 3 and error_lines(
        w.log for ws in stack.workers.values() for w in ws) == []
    figure("odd input", f"{len(odd)} events; counted {counts}; derived before "
                        f"{derived_counts(before.verify)}, after {derived_counts(after.verify)}")

"""Bad and odd input mixed into a run: every record that breaks the contract lands once in
``inspections.rejected`` with a reason, the campaign's outputs are what they are without it,
events out of the usual course are counted and recorded, and no worker falls over."""

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
    from inspections import simulate
    from inspections.replay import Pipeline
    from runtime import topics

    plan = simulate.load(simulate.find(SCENARIO))
    records = simulate.as_records(simulate.timeline(plan), topics.name(settings, topics.EVENTS),
                                  settings.partitions)
    derived = Pipeline(settings).run(records).derived_by_topic()
    return {topic.split(".", 1)[1]: {e["id"] for e in events} for topic, events in derived.items()}


@pytest.mark.timeout(1800)
def test_ten_thousand_bad_records_are_each_rejected_once_and_change_nothing(kafka, deployment,
                                                                          tmp_path):
    from runtime.settings import Settings

    count = 10_000
    bad = bad_records.records(count, seed=11, huge_ones=20 if LONG else 10)
    stack = Stack(deployment)
    stack.start_all()
    stack.wait_ready()
    run = stack.simulate(speed=8)
    publication = Publication(stack, run)
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
    assert set(found) == set(places)
    assert set(found.values()) == {1}
    for r in rejected:  # the original bytes and key, kept: nothing is lost
        key, value = places[(r["data"]["partition"], r["data"]["offset"])]
        assert base64.b64decode(r["data"]["value_base64"]) == value
        assert r["data"]["key_base64"] == (base64.b64encode(key).decode() if key else None)
        assert r["data"]["reason"] == decode(value, key=key).reason
    causes = Counter(decode(value, key=key).cause for key, value, _ in bad)  # the gate's

    # The campaign's outputs are the scenario's alone; every view as the replay's.
    alone = _without_bad_input(Settings(topic_prefix=deployment.prefix))
    by_id = {t["topic"].split(".", 1)[1]: t for t in result.verify["topics"]}
    assert result.problems() == []
    for name in ("escalations", "breaches"):
        assert by_id[name]["computed"] == len(alone[name]) > 0
    assert by_id["rejected"]["computed"] == count

    # No worker restarted or logged an error.
    assert len(stack.alive()) == 3 and all(w.starts == 1 for ws in stack.workers.values()
                                           for w in ws)
    assert error_lines(w.log for ws in stack.workers.values() for w in ws) == []
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

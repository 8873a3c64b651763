"""No record stops the system: nasty records on every partition of the inbound topic while the
three services run (each record that once broke something, ``tests/fuzz/corpus.py``), then the
seed's campaign: every nasty record rejected once with its cause, the campaign derived in
full, no worker restarted, replay and verify equal. And a rule that fails on an event, after
changing its state, takes that event alone out: rejected by its service, undone, the rest of
its batch applied, and the event accepted when it comes again mended. Run with the default
INSPECTIONS_MAX_TIME_AHEAD (the suite's deployments allow a century)."""

from __future__ import annotations

import json
import sys
from collections import Counter

import pytest

from tests.examples import event
from tests.faults.failing_worker import MARK
from tests.faults.harness import Stack, check, error_lines, figure
from tests.faults.test_bad_input import _without_bad_input
from tests.fuzz.corpus import CASES
from tests.integration.kafka_io import read_all, wait_for


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


@pytest.fixture
def default_bound(kafka):
    """The deployment's workers, replay and verify with the default time-ahead bound."""
    before = kafka.vars.pop("INSPECTIONS_MAX_TIME_AHEAD", None)
    yield
    if before is not None:
        kafka.vars["INSPECTIONS_MAX_TIME_AHEAD"] = before


@pytest.mark.timeout(1200)
def test_nasty_records_on_every_partition_are_rejected_once_and_stop_nothing(
        kafka, default_bound, deployment, tmp_path):
    from runtime.settings import Settings

    settings = Settings(topic_prefix=deployment.prefix)
    nasty = [c for c in CASES if c.outcome != "accepted"]
    stack = Stack(deployment)
    stack.start_all()
    stack.wait_ready()
    # First on every partition, before anything else: a partition a record stopped would
    # hold the whole campaign behind it.
    sent = _produce_to(kafka.bootstrap, deployment.topic("events"),
                       [(p, c.key, c.value) for p in range(settings.partitions) for c in nasty])
    expected = {(m.partition, m.offset): c.outcome
                for m, c in zip(sent, [c for _ in range(settings.partitions) for c in nasty])}
    run = stack.simulate(speed=0)
    assert run.wait(timeout=600) == 0
    stack.settle()
    result = check(stack, tmp_path)

    rejected = [json.loads(r.value)["data"] for r in
                read_all(kafka.bootstrap, deployment.topic("rejected"))]
    found = Counter((r["partition"], r["offset"]) for r in rejected)
    assert set(found) == set(expected) and set(found.values()) == {1}  # each once
    assert {(r["partition"], r["offset"]): r["cause"] for r in rejected} == expected
    assert max(len(r["reason"]) for r in rejected) <= 2000

    alone = _without_bad_input(settings)  # what the campaign alone derives
    by_id = {t["topic"].split(".", 1)[1]: t for t in result.verify["topics"]}
    assert result.problems() == []  # replay and verify: equal, every view too
    for name in ("escalations", "breaches"):
        assert by_id[name]["computed"] == len(alone[name]) > 0
    assert len(stack.alive()) == 3 and all(w.starts == 1 for ws in stack.workers.values()
                                           for w in ws)
    assert error_lines(w.log for ws in stack.workers.values() for w in ws) == []
    figure("poison records", f"{len(sent)} nasty records on {settings.partitions} partitions, "
                     f"by cause {dict(Counter(expected.values()))}; the campaign derived in "
                     f"full ({by_id['escalations']['computed']} escalation events, "
                     f"{by_id['breaches']['computed']} breaches)")


def _finding(event_id: str, finding_id: str, time: str, description: str = "leak") -> dict:
    found = event("finding.recorded", id=event_id, time=time)
    found["data"].update(finding_id=finding_id, category="violation", description=description,
                         cannot_ensure_safety=False, listed_supervision_advised=False)
    return found


@pytest.mark.timeout(600)
def test_a_rule_failing_on_one_event_takes_that_event_alone_out(kafka, deployment, tmp_path):
    import urllib.request

    stack = Stack(deployment)
    stack.start("scheduler")
    stack.start("findings")
    failing = stack.start("escalation", command=[sys.executable, "-m",
                                                 "tests.faults.failing_worker", "escalation"])
    stack.wait_ready()
    at = "2026-04-20T10:{:02d}:00+08:00"
    poison = _finding("poison-1", "F-poison", at.format(31), MARK)
    deployment.publish([_finding("ok-1", "F-ok-1", at.format(30)), poison,
                        _finding("ok-2", "F-ok-2", at.format(32))], "findings.jsonl")
    stack.settle()

    def escalations() -> set[str]:
        with urllib.request.urlopen(f"{failing.url}/units/changtai/escalations",
                                    timeout=10) as answer:
            return {e["escalation_id"] for e in json.loads(answer.read())["escalations"]}

    # The batch's other events applied; the failing one undone and rejected by its service.
    assert escalations() == {"F-ok-1:issue_enforcement_document",
                             "F-ok-2:issue_enforcement_document"}
    rejected = [json.loads(r.value) for r in read_all(kafka.bootstrap,
                                                      deployment.topic("rejected"))]
    assert [(r["source"], r["data"]["cause"]) for r in rejected] == [
        ("urn:inspections:service:escalation", "processing_failed")]
    assert "RuntimeError" in rejected[0]["data"]["reason"]
    # Only the escalation service failed: the findings service recorded the finding.
    with urllib.request.urlopen(
            f"http://127.0.0.1:{stack.base_port('findings')}/findings/F-poison",
            timeout=10) as answer:
        assert json.loads(answer.read())["finding_id"] == "F-poison"
    # Nothing of it was kept, its id not even: sent again, mended, it is applied.
    mended = {**poison, "data": {**poison["data"], "description": "leak"}}
    deployment.publish([mended], "mended.jsonl")
    stack.settle()
    wait_for(lambda: "F-poison:issue_enforcement_document" in escalations(),
             "the mended event's escalation", 60)
    assert failing.starts == 1 and failing.proc.poll() is None
    logged = [json.loads(line) for line in failing.log.read_text().splitlines()
              if "its handling failed" in line]
    assert len(logged) == 1 and logged[0]["cause"] == "processing_failed"
    figure("poison rule", "a rule failing on one event: that event rejected by its service and "
                     "undone, the rest of its batch applied, the mended event accepted")


@pytest.mark.timeout(300)
def test_a_state_write_the_broker_refuses_stops_the_worker_saying_so(kafka, deployment):
    """The changelog is the state's copy: a write the broker refuses (here: its topic made to
    take records of at most 100 bytes while the worker runs) must not let the worker go on
    with a state no restart or other worker could recover."""
    from kafka.admin import ConfigResource, ConfigResourceType

    from runtime import kafka as clients

    stack = Stack(deployment)
    worker = stack.start("findings")
    stack.wait_ready()
    changelog = f"{deployment.prefix}-findings-state-changelog"
    admin = clients.admin(kafka.settings(), client_id="poison-test")
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, changelog,
                                            {"max.message.bytes": "100"})])
    finally:
        admin.close()
    deployment.publish([_finding("big-1", "F-big", "2026-04-20T10:30:00+08:00",
                                 "a description longer than the changelog takes " * 5)])
    wait_for(lambda: worker.proc.poll() is not None, "the worker to stop", 120)
    assert worker.proc.returncode != 0
    said = [json.loads(line) for line in worker.log.read_text().splitlines()
            if "refused by its changelog" in line]
    assert said and said[0]["level"] == "critical" and said[0]["topic"] == changelog, said
    assert "MessageSizeTooLarge" in said[0]["error"]

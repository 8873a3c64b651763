"""What no record can do to a worker, on the real broker (the records that once broke
something, on every partition beside a campaign, are in ``test_bad_input.py``): a rule that
fails on an event, after changing its state, takes that event alone out (rejected by its
service, undone, the rest of its batch applied, the event accepted when it comes again
mended); a state write the broker refuses stops the worker, saying so."""

from __future__ import annotations

import json
import sys

import pytest

from tests.examples import event
from tests.faults.failing_worker import MARK
from tests.faults.harness import Stack, figure
from tests.integration.kafka_io import read_all, wait_for


def _finding(event_id: str, finding_id: str, time: str, description: str = "leak") -> dict:
    found = event("finding.recorded", id=event_id, time=time)
    found["data"].update(finding_id=finding_id, category="violation", description=description,
                         cannot_ensure_safety=False, listed_supervision_advised=False)
    return found


@pytest.mark.timeout(600)
@pytest.mark.parametrize("all_in_one", [False, True], ids=["three services", "run all"])
def test_a_rule_failing_on_one_event_takes_that_event_alone_out(all_in_one, kafka, deployment,
                                                                tmp_path):
    import urllib.request

    stack = Stack(deployment, all_in_one=all_in_one)
    failing_worker = [sys.executable, "-m", "tests.faults.failing_worker"]
    if all_in_one:  # one process: the escalation's rules fail, the others' do not
        failing = stack.start("all", command=[*failing_worker, "all", "escalation"])
    else:
        stack.start("scheduler")
        stack.start("findings")
        failing = stack.start("escalation", command=[*failing_worker, "escalation"])
    stack.wait_ready()
    at = "2026-04-20T10:{:02d}:00+08:00"
    poison = _finding("poison-1", "F-poison", at.format(31), MARK)
    deployment.publish([_finding("ok-1", "F-ok-1", at.format(30)), poison,
                        _finding("ok-2", "F-ok-2", at.format(32))], "findings.jsonl")
    stack.settle()

    def escalations() -> set[str]:
        with urllib.request.urlopen(f"{stack.views_at('escalation')}/units/changtai/escalations",
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
    # Only the escalation service failed: the findings service recorded the finding (in the
    # same process too).
    with urllib.request.urlopen(f"{stack.views_at('findings')}/findings/F-poison",
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
    figure("poison rule" + (" (run all)" if all_in_one else ""),
           "a rule failing on one event: that event rejected by its service and undone, the "
           "rest of its batch applied, the mended event accepted")


@pytest.mark.timeout(300)
def test_a_state_write_the_broker_refuses_stops_the_worker_saying_so(kafka, deployment):
    """The changelog is the state's copy: a write the broker refuses (here: its topic made to
    take records of at most 100 bytes while the worker runs) must not let the worker go on
    with a state no restart or other worker could recover."""
    from kafka.admin import ConfigResource, ConfigResourceType

    from runtime.plumbing import kafka as clients

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

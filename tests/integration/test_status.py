"""`inspections status` reads each service's live generation: after a rebuild switched the
escalation service to generation 1 (and `--remove-old` deleted generation 0's group), its lag
and members are generation 1's group's, not the whole log behind a group that is gone."""

from __future__ import annotations

import json

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from runtime.faust_runner import generations
from runtime.plumbing import kafka as kafka_clients
from tests.integration.kafka_io import produce


def test_status_reads_the_lag_of_the_live_generations_group(kafka, deployment):
    settings = kafka.settings().model_copy(update={"topic_prefix": deployment.prefix})
    events = deployment.topic("events")
    produce(kafka.bootstrap, events, [(f"unit-{i}".encode(), b"{}") for i in range(12)])

    # Generation 1 of the escalation service is live, and its group has processed everything
    # (what a rebuild leaves); generation 0's group never was, or was removed.
    generations.switch(settings, "escalation", 1)
    live_group = generations.of(settings, 1).app_id("escalation")
    assert live_group == f"{deployment.prefix}-escalation-g1"
    committer = KafkaConsumer(**kafka_clients.common(settings, "test-status"),
                              group_id=live_group, enable_auto_commit=False)
    try:
        parts = [TopicPartition(events, p) for p in committer.partitions_for_topic(events)]
        ends = committer.end_offsets(parts)
        committer.commit({tp: OffsetAndMetadata(end, "", -1) for tp, end in ends.items()})
    finally:
        committer.close()
    assert sum(ends.values()) == 12

    done = kafka.cli("status", "--json", check=False)  # no worker runs: exit 1, by design
    assert done.returncode == 1, done.stderr
    status = json.loads(done.stdout)
    assert status["generations"] == {"scheduler": 0, "findings": 0, "escalation": 1}
    assert status["lag"]["escalation"] == {f"{events}:{tp.partition}": 0 for tp in parts}
    # The findings service is still generation 0, and its group has processed nothing.
    assert sum(status["lag"]["findings"].values()) == 12
    assert status["members"] == {"scheduler": 0, "findings": 0, "escalation": 0}
    text = kafka.cli("status", check=False).stdout
    escalation_line = next(line for line in text.splitlines()
                           if line.strip().startswith("escalation") and "workers" in line)
    assert "(generation 1)" in escalation_line
    lag_line = next(line for line in text.splitlines()[text.splitlines().index(
        "consumer lag (records not committed):"):] if line.strip().startswith("escalation"))
    assert lag_line.split()[1] == "0"

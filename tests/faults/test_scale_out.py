"""Scale-out: two workers of each service in one consumer group share the partitions; one of
each then stops (a rebalance) and the other takes over. Derived events and views are the
same as one worker's (the replay's)."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import free_port
from tests.faults.harness import (
    SERVICES,
    SPEED,
    Publication,
    Stack,
    check,
    figure,
    holding,
    ready,
)


@pytest.mark.timeout(1800)
def test_two_workers_a_service_then_one_give_what_one_gives(kafka, deployment, tmp_path):
    stack = Stack(deployment)
    for service in SERVICES:
        stack.start(service)
        stack.start(service, port=free_port())
    stack.wait_ready()
    shares = holding(stack)  # both members have their share once it settles
    run = stack.simulate(speed=SPEED)
    progress = Publication(stack, run, holds=[0.4])
    try:
        progress.reached(0.4)  # held there: the rebalance lands mid-run
        leaving = [stack.workers[service][1] for service in SERVICES]
        for worker in leaving:  # the second of each leaves: a rebalance mid-run
            worker.proc.send_signal(signal.SIGTERM)
        progress.go_on()
        for worker in leaving:
            assert worker.proc.wait(timeout=90) == 0
    finally:
        progress.close()
    assert run.wait(timeout=600) == 0
    stack.settle()
    after = {s: len(ready(stack.workers[s][0])["partitions"]) for s in SERVICES}
    result = check(stack, tmp_path)
    figure("scale-out", f"partitions each worker held with two a service {shares}, the one "
                        f"left after the stop {after}")
    result.report("scale-out")
    assert result.problems() == []
    assert result.views > 250

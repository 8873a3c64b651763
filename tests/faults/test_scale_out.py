"""Scale-out: two workers of each service in one consumer group share the partitions; one of
each then stops (a rebalance) and the other takes over. Derived events and views are the
same as one worker's (the replay's)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.conftest import free_port
from tests.faults.harness import SERVICES, Stack, check, figure


def _partitions(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as answer:
        return json.loads(answer.read())["partitions"]


@pytest.mark.timeout(1800)
def test_two_workers_a_service_then_one_give_what_one_gives(kafka, deployment, tmp_path):
    stack = Stack(deployment)
    for service in SERVICES:
        stack.start(service)
        stack.start(service, port=free_port())
    stack.wait_ready()
    shares = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # both members have their share once it settles
        shares = {s: [len(_partitions(w.port)) for w in stack.workers[s]] for s in SERVICES}
        if all(min(n) > 0 for n in shares.values()):
            break
        time.sleep(1)
    assert all(min(n) > 0 for n in shares.values()), shares
    run = stack.simulate(speed=8)
    time.sleep(20)
    assert run.poll() is None, "the run ended before the rebalance"
    for service in SERVICES:  # the second of each leaves: a rebalance mid-run
        stack.stop(stack.workers[service][1])
    assert run.wait(timeout=600) == 0
    stack.settle()
    after = {s: len(_partitions(stack.workers[s][0].port)) for s in SERVICES}
    result = check(stack, tmp_path)
    figure("scale-out", f"partitions each worker held with two a service {shares}, the one "
                        f"left after the stop {after}")
    result.report("scale-out")
    assert result.problems() == []
    assert result.views > 250

"""A three-node local Kafka (topics with 3 replicas, 2 in sync for each write, acks=all):
the seed campaign published while one node is killed with SIGKILL and later restarted, then
the node that is the active controller killed and restarted. Nothing is missing, nothing
doubled (replay and audit verify), every view equals the replay's, and no worker exits."""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import Deployment, Env, free_port
from tests.faults.harness import LONG, SERVICES, SPEED, Publication, Stack, check, figure


@pytest.fixture
def cluster(kafka_home):
    env = Env(kafka_home, free_port(6), nodes=3)
    try:
        env.cli("broker", "start", timeout=300)
        env.cli("topics", "create")
        yield env
    finally:
        env.stop_broker()


def _kill(broker, node_id: int) -> None:
    pid = broker.node_pids()[node_id]
    assert pid is not None, f"node {node_id} does not run"
    os.kill(pid, 9)


@pytest.mark.timeout(1800)
def test_a_node_and_then_the_controller_killed_mid_run_lose_and_double_nothing(
        cluster, tmp_path):
    from inspections.localkafka import LocalBroker

    broker = LocalBroker(cluster.settings(), say=lambda *_: None)
    nodes = Env(cluster.home, cluster.port, nodes=3)  # the deployment gives its workers a home
    deployment = Deployment(cluster, tmp_path)
    try:
        described = _describe(cluster, [deployment.topic(n) for n in ("events", "breaches")])
        replicas = {t["name"]: {len(p["replica_nodes"]) for p in t["partitions"]}
                    for t in described}
        assert replicas and all(r == {3} for r in replicas.values()), replicas
        stack = Stack(deployment)
        stack.start_all()
        stack.wait_ready()
        run = stack.simulate(speed=4 if LONG else SPEED)
        # Each fault at a share of the run published, the run held there until the node is
        # killed; a tenth more of it published while the node is down; the node back in
        # every partition's in-sync replicas before the next. However long a node takes to
        # start, the run waits at the next hold: both faults land mid-run.
        faults = (("a node", 0.25), ("the controller", 0.6))
        progress = Publication(stack, run, holds=[at for _, at in faults])
        events = []
        try:
            for what, at in faults:
                progress.reached(at)
                controller = broker.controller()
                assert controller is not None
                victim = controller if what == "the controller" else next(
                    n.id for n in broker.nodes if n.id != controller)
                _kill(broker, victim)
                killed = time.monotonic()
                progress.go_on()
                progress.until(at + 0.1)  # published with the node down
                nodes.cli("broker", "start", timeout=300)  # starts the one that is down
                back = time.monotonic() - killed
                _wait_in_sync(cluster, deployment.prefix)
                events.append(f"{what} (node {victim}) killed at {at:.0%} of the run, down "
                              f"{back:.0f} s, in sync again after {time.monotonic() - killed:.0f}"
                              f" s, controller then node {broker.controller()}")
        finally:
            progress.close()
        assert run.wait(timeout=900) == 0, (tmp_path / "simulate.log").read_text()[-2000:]
        stack.settle()
        result = check(stack, tmp_path)
        exited = [w.service for ws in stack.workers.values() for w in ws
                  if w.proc.poll() is not None]
        figure("three nodes", f"{'; '.join(events)}; workers that exited: {exited or 'none'}")
        result.report("three nodes")
        assert result.problems() == []
        assert exited == []
        assert result.views > 250
        assert sorted(stack.workers) == sorted(SERVICES)
    finally:
        deployment.close(kill=True)  # nothing reads what they would write while stopping


def _wait_in_sync(env: Env, prefix: str, timeout_s: float = 300) -> None:
    """Until every partition of the deployment's topics (and the group offsets) has all its
    replicas in sync."""
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + timeout_s
    admin = KafkaAdminClient(bootstrap_servers=env.bootstrap)
    try:
        while True:
            try:
                names = [t for t in admin.list_topics()
                         if t.startswith(prefix) or t == "__consumer_offsets"]
                behind = [f"{t['name']}/{p['partition_index']}: in sync {p['isr_nodes']}"
                          for t in admin.describe_topics(names) for p in t["partitions"]
                          if len(p["isr_nodes"]) < len(p["replica_nodes"])]
            except Exception as exc:  # the cluster still settling: ask again
                behind = [repr(exc)]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"replicas not in sync after {timeout_s:.0f} s: "
                                     f"{behind[:5]}")
            time.sleep(1)
    finally:
        admin.close()


def _describe(env: Env, names: list[str]) -> list[dict]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=env.bootstrap)
    try:
        return admin.describe_topics(names)
    finally:
        admin.close()

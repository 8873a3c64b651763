"""Crashes: workers killed with SIGKILL at random points of a run, and the broker restarted
in the middle of one. At the end the derived topics hold every expected event by id and
nothing else, and every view equals the replay's."""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.conftest import Deployment, Env
from tests.faults.harness import LONG, SPEED, Publication, Stack, check, figure

DOWN_S = 5  # how long the broker stays down


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("all_in_one", [False, True], ids=["three services", "run all"])
def test_workers_killed_at_random_points_lose_and_double_nothing(all_in_one, kafka, deployment,
                                                                 tmp_path):
    seed = int(time.time())
    rng = random.Random(seed)
    kills = 12 if LONG else 3
    stack = Stack(deployment, all_in_one=all_in_one)
    stack.start_all()
    stack.wait_ready()
    run = stack.simulate(speed=2 if LONG else SPEED)
    hosts = list(stack.workers)  # the services, or the one worker of them all
    order = [s for _ in range(kills // len(hosts) + 1)
             for s in rng.sample(hosts, len(hosts))][:kills]
    # Random points of the run, by the share of it published: the run waits at each until
    # the kill before is done, so every kill lands mid-run on a fast machine or a slow one.
    points = sorted(round(rng.uniform(0.05, 0.85), 3) for _ in order)
    progress = Publication(stack, run, holds=points)
    done = []
    try:
        for service, point in zip(order, points):
            progress.reached(point)
            progress.go_on()  # its records come again (late ones at once): busy workers
            time.sleep(rng.uniform(0, 0.5))
            worker = stack.workers[service][0]
            stack.kill(worker)
            done.append((service, run.poll() is None))
            time.sleep(rng.uniform(0, 3))  # down a random while
            stack.restart(worker)
    finally:
        progress.close()
    assert run.wait(timeout=600) == 0
    settle_started = time.monotonic()
    stack.settle()
    result = check(stack, tmp_path)
    name = "kill -9" + (" (run all)" if all_in_one else "")
    figure(name, f"{len(done)} kills ({', '.join(s for s, _ in done)}) at "
                      f"{', '.join(f'{p:.0%}' for p in points)} of the run, seed {seed}, "
                      f"{sum(1 for _, during in done if during)} while publishing")
    result.report(name)
    figure(f"{name} settled after the run", f"{time.monotonic() - settle_started:.0f} s")
    assert result.problems() == []
    assert result.views > 250
    assert all(stack.workers[s][0].starts > 1 for s in hosts)  # each was killed
    assert all(during for _, during in done)  # mid-run, every one


@pytest.mark.timeout(1800)
def test_a_broker_restart_in_the_middle_of_a_run_loses_and_doubles_nothing(own_broker,
                                                                         tmp_path):
    own_broker.cli("broker", "start")
    own_broker.cli("topics", "create")
    broker = Env(own_broker.home, own_broker.port)  # the deployment gives its workers a home
    deployment = Deployment(own_broker, tmp_path)
    try:
        stack = Stack(deployment)
        stack.start_all()
        stack.wait_ready()
        run = stack.simulate(speed=SPEED)
        progress = Publication(stack, run, holds=[0.4])
        try:
            progress.reached(0.4)  # held there: the restart lands mid-run
            stopped = time.monotonic()
            if LONG:  # SIGKILL: the broker recovers its logs
                from inspections.localkafka import broker_processes

                pids = broker_processes(broker.settings().broker_dir)
                assert pids
                for pid in pids:
                    os.kill(pid, 9)
            else:
                assert broker.cli("broker", "stop").stdout.strip() == "stopped"
            progress.go_on()  # the run goes on, into a broker that is down
            time.sleep(DOWN_S)
            broker.cli("broker", "start")
            down = time.monotonic() - stopped
        finally:
            progress.close()
        assert run.wait(timeout=600) == 0, (tmp_path / "simulate.log").read_text()[-2000:]
        stack.settle()
        result = check(stack, tmp_path)
        restarted = [w.service for w in (ws[0] for ws in stack.workers.values())
                     if w.proc.poll() is not None]
        figure("broker restart", f"{'SIGKILL' if LONG else 'stop'}, down {down:.0f} s; "
                                 f"workers that exited: {restarted or 'none'}")
        result.report("broker restart")
        assert result.problems() == []
        assert restarted == []
        assert result.views > 250
    finally:
        deployment.close(kill=True)  # nothing reads what they would write while stopping

"""A rebuild without downtime: while the seed campaign is published, `inspections rebuild
escalation --remove-old` (in `make faults` each service too, and `all`, the workers of every
service in one process) builds generation 1 of its state from offset 0 beside the live
generation 0, makes it live; the old worker stops, is started again (as a supervisor would) and
joins generation 1. Some worker answers the views at every moment; afterwards every derived
event and view equals the replay's, and generation 0's group and changelogs are gone."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import CLI, REPO, free_port
from tests.faults.harness import LONG, SPEED, Publication, Stack, _status, check, figure

# The escalation service in `make test`; every service, and a worker of them all (`run all`),
# in `make faults`.
REBUILT = ["escalation", *(["scheduler", "findings", "all"] if LONG else [])]
TABLES = {"escalation": ("state",), "findings": ("state",), "scheduler": ("state", "side"),
          "all": ("escalation-state", "findings-state", "scheduler-side", "scheduler-state")}


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("service", REBUILT)
def test_a_rebuild_mid_run_keeps_the_views_answering_and_ends_equal_to_the_replay(
        service, kafka, deployment, tmp_path):
    from kafka import KafkaAdminClient

    stack = Stack(deployment, all_in_one=service == "all")
    stack.start_all()
    stack.wait_ready()
    old = stack.workers[service][0]
    group = f"{deployment.prefix}-{service}"
    page = {"escalation": "/escalations?limit=1", "scheduler": "/campaigns",
            "findings": "/assessments/2026", "all": "/escalation/escalations?limit=1"}[service]
    run = stack.simulate(speed=SPEED)
    progress = Publication(stack, run, holds=[0.25])
    try:
        progress.reached(0.25)  # held there: the rebuild starts mid-run
        port = free_port()
        said = open(tmp_path / "rebuild.log", "w")
        rebuild = subprocess.Popen([*CLI, "rebuild", service, "--port", str(port),
                                    "--remove-old"], env=kafka.vars, cwd=REPO, stdout=said,
                                   stderr=subprocess.STDOUT)
        deployment.workers.append(rebuild)
        progress.go_on()
    finally:
        progress.close()
    urls = [f"{old.url}{page}", f"http://127.0.0.1:{port}{page}"]
    asked, served, nobody, gap, longest = 0, 0, 0, None, 0.0
    while rebuild.poll() is None:
        answers = [_status(u) for u in urls]
        asked += 1
        if 200 in answers:
            served += 1
            if gap is not None:
                longest, gap = max(longest, time.monotonic() - gap), None
        elif gap is None:
            gap = time.monotonic()
        if all(a is None for a in answers):
            nobody += 1  # no worker listening at all
        if old.proc.poll() is not None:  # it stopped for generation 1: start it again
            stack.restart(old)
        time.sleep(0.5)
    text = (tmp_path / "rebuild.log").read_text()
    assert rebuild.returncode == 0, text
    assert f"{service}: generation 1 is live" in text
    assert old.starts == 2  # it stopped once, on its own, and joined generation 1
    assert run.wait(timeout=600) == 0
    stack.settle()
    result = check(stack, tmp_path)
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        groups = {g["group_id"] for g in admin.list_groups()}
        left = sorted(t for t in admin.list_topics()
                      if t.startswith(f"{group}-") and t.endswith("-changelog"))
    finally:
        admin.close()
    figure(f"rebuild {service}", f"views asked {asked} times during it, answered {served}, "
                                 f"by nobody {nobody}; longest without an answer {longest:.1f} s")
    result.report(f"rebuild {service}")
    assert result.problems() == []
    if service not in ("scheduler", "all"):  # its campaign breaches may come twice
        # (runtime/faust_runner/generations.py)
        assert result.copies() == 0  # nothing published by both generations
    assert result.views > 250
    assert nobody == 0
    assert group not in groups and f"{group}-g1" in groups
    assert left == sorted(f"{group}-g1-{t}-changelog" for t in TABLES[service])

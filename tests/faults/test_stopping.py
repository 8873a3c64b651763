"""A worker stops when asked: SIGTERM stops it gracefully (exit 0, what it did committed, so
nothing is processed twice after a restart), and within its shutdown timeout whatever its
agents are doing (stuck in a handler that holds the event loop, awaiting what never comes,
restarting on a poison record): then its watchdog logs what it still waited for and ends it
(exit 70), never in the middle of a batch's state writes, and the services started again
derive what the rules give (replay, audit verify, every view)."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO
from tests.faults.harness import (
    SERVICES,
    SPEED,
    Publication,
    Stack,
    check,
    derived_counts,
    figure,
)
from tests.integration.kafka_io import read_all, settled, wait_for

EXIT_CODE = 70  # runtime.faust_runner.stopping.EXIT_CODE
TIMEOUT_S = 10  # the stuck workers' INSPECTIONS_SHUTDOWN_TIMEOUT_S
MARGIN_S = 30  # generous: the bound is the point, not the precise figure
# What each stuck worker does on the marked record (tests/faults/stuck_worker.py).
STUCK = {"scheduler": "raises", "findings": "blocks", "escalation": "awaits"}


def _watchdog_said(log) -> dict | None:
    for line in log.read_text(errors="replace").splitlines():
        if "did not stop within its shutdown timeout" in line:
            return json.loads(line)
    return None


def _terminate(workers) -> float:
    """SIGTERM to each worker at once; when."""
    asked = time.monotonic()
    for worker in workers:
        worker.proc.send_signal(signal.SIGTERM)
    return asked


def _exited(workers, asked: float) -> dict[str, float]:
    """How long each worker took to exit after ``asked``."""
    took = {}
    for worker in workers:
        try:
            worker.proc.wait(timeout=max(1.0, asked + 300 - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait()
            raise AssertionError(f"{worker.service} ignored SIGTERM for 300 s") from None
        took[worker.service] = time.monotonic() - asked
    return took


@pytest.mark.timeout(900)
def test_a_stuck_worker_stops_within_its_timeout_and_a_restart_derives_the_rest(
        kafka, deployment, tmp_path):
    from tests.examples import event
    from tests.scenarios import batch_1

    stack = Stack(deployment)
    for service, mode in STUCK.items():
        stack.start(service, command=[sys.executable, "-m", "tests.faults.stuck_worker",
                                      service, mode],
                    INSPECTIONS_SHUTDOWN_TIMEOUT_S=str(TIMEOUT_S))
    stack.wait_ready()
    events, _ = batch_1()
    half, later = len(events) // 2, 3 * len(events) // 4
    deployment.publish(events[:half], "first.jsonl")  # processed and committed first
    settled(kafka, deployment.prefix, 240)
    unit = events[half]["subject"]  # a finding of a unit on its visit, id marked
    marked = event("finding.recorded", id="stuck-finding-1", time=events[half]["time"],
                   subject=unit, correlationid=f"visit-2026-{unit}")
    marked["data"].update(unit_id=unit, visit_id=f"visit-2026-{unit}",
                          finding_id=f"F-{unit}-stuck")
    deployment.publish([marked, *events[half:later]], "marked.jsonl")
    stuck = [ws[0] for ws in stack.workers.values()]
    for worker in stuck:
        wait_for(lambda w=worker: "stuck on the marked record" in w.log.read_text(),
                 f"{worker.service} to meet the marked record", timeout=180)

    took = _exited(stuck, _terminate(stuck))
    said = {w.service: _watchdog_said(w.log) for w in stuck}
    codes = {w.service: w.proc.returncode for w in stuck}
    figure("stuck stop", f"SIGTERM to exit, timeout {TIMEOUT_S} s: "
                         + ", ".join(f"{s} ({STUCK[s]}) {t:.1f} s, exit {codes[s]}"
                                     for s, t in took.items()))
    for worker in stuck:  # within its timeout, whatever it was doing
        assert took[worker.service] < TIMEOUT_S + MARGIN_S, (worker.service, took)
    # Held in a handler, awaiting what never comes: only the watchdog ends them, and says why.
    for service, where in (("findings", "main_thread"), ("escalation", "tasks")):
        assert codes[service] == EXIT_CODE, (service, codes)
        assert said[service] is not None, f"{service} did not say why it was ended"
        assert said[service]["level"] == "critical"
        assert said[service]["timeout_s"] == TIMEOUT_S
        named = said[service]["waiting_for"][where]
        assert any("stuck_worker.py" in frame for frame in named), (service, named)
    assert "blocked" in said["findings"]["waiting_for"]["loop"]
    assert any("left_out" in task for task in said["escalation"]["waiting_for"]["tasks"])
    # Raising on a poison record (restarting on it, or setting it aside): stopped gracefully
    # or by the watchdog, saying why.
    assert codes["scheduler"] == 0 or (codes["scheduler"] == EXIT_CODE and said["scheduler"])

    for service in SERVICES:  # the real services, on the same ports and state
        stack.start(service)
    deployment.publish(events[later:], "last.jsonl")
    stack.settle()
    result = check(stack, tmp_path)
    # A worker that sets a record its handler raised on aside rejects it (the rules alone,
    # replayed, never fail on it): that one rejection is the test's own poison, not a fault.
    poison = {r["id"] for r in (json.loads(m.value) for m in read_all(
        kafka.bootstrap, deployment.topic("rejected")))
        if b"stuck-" in base64.b64decode(r["data"]["value_base64"])}
    for topic in result.verify["topics"]:
        if topic["topic"] == deployment.topic("rejected"):
            topic["extra"] = [i for i in topic["extra"] if i not in poison]
    figure("after a stuck stop, the poison record rejected", len(poison))
    result.report("after a stuck stop")
    assert result.problems() == []
    assert len(poison) <= 1
    assert result.views > 10
    assert derived_counts(result.verify)["breaches"] > 0


def _duplicates(port: int) -> float:
    """Events a worker found it had processed before (``kind="duplicate"``) since it
    started."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return sum(float(n) for n in re.findall(
        r'^inspections_events_irregular_total\{[^}]*kind="duplicate"[^}]*\} (\S+)$', text,
        re.M))


@pytest.mark.timeout(1200)
def test_a_sigterm_mid_run_stops_each_worker_gracefully_and_nothing_is_processed_twice(
        kafka, deployment, tmp_path):
    stack = Stack(deployment)
    stack.start_all()
    stack.wait_ready()
    run = stack.simulate(speed=SPEED)
    progress = Publication(stack, run)
    try:
        progress.until(0.4)  # not held: they stop busy with the records coming in
        workers = [ws[0] for ws in stack.workers.values()]
        took = _exited(workers, _terminate(workers))
    finally:
        progress.close()
    codes = {w.service: w.proc.returncode for w in workers}
    figure("graceful stop", ", ".join(f"{s} {t:.1f} s, exit {codes[s]}"
                                      for s, t in took.items()))
    assert codes == {s: 0 for s in SERVICES}, {
        w.service: w.log.read_text()[-3000:] for w in workers if w.proc.returncode}
    assert all(_watchdog_said(w.log) is None for w in workers)
    for worker in workers:
        stack.restart(worker)
    assert run.wait(timeout=600) == 0
    stack.settle()
    # Every record the stopped workers processed was committed by their stop: none again.
    # (What the services derived after such stops is checked against the replay by the
    # stuck workers' test above and by every other fault test.)
    duplicates = {s: _duplicates(stack.base_port(s)) for s in SERVICES}
    figure("graceful stop, processed again after the restart", duplicates)
    assert duplicates == {s: 0 for s in SERVICES}


WRITES = """
import asyncio, os, signal, time
from runtime.faust_runner import stopping
from runtime.faust_runner.batching import Batch

class Slow(dict):  # a table whose writes take a while
    def __setitem__(self, key, value):
        time.sleep(0.2)
        super().__setitem__(key, value)
        print("wrote", key, flush=True)

class Log:
    def critical(self, event, **fields):
        print("watchdog:", event, flush=True)

class Record:  # the faust event a staged write is filed under
    message = None

batch = Batch([], progress=None)
batch.event = Record()
staged = batch.stage(Slow())
for key in range(10):
    staged[key] = key
watchdog = stopping.Watchdog(0.3, Log())
watchdog.listen()
watchdog.start()
os.kill(os.getpid(), signal.SIGTERM)
asyncio.run(batch.commit())  # ten writes of 0.2 s: the watchdog is due in the middle
time.sleep(60)
print("not ended", flush=True)
"""


def test_the_watchdog_never_ends_a_worker_in_the_middle_of_a_batchs_state_writes():
    done = subprocess.run([sys.executable, "-c", WRITES], cwd=REPO, capture_output=True,
                          text=True, timeout=50)
    lines = done.stdout.splitlines()
    assert done.returncode == EXIT_CODE, (done.returncode, done.stdout, done.stderr)
    said = next(i for i, line in enumerate(lines) if line.startswith("watchdog:"))
    assert [line for line in lines[:said] if line.startswith("wrote")] == [
        f"wrote {k}" for k in range(10)]  # every key of the batch, then the exit
    assert "not ended" not in done.stdout

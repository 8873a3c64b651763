"""A worker killed at the worst moments of a batch's state writes: in the middle of them (some
keys written, the others not), and right after them (their changelog records queued, none
acknowledged yet). Started again, it puts back what a cut batch half wrote and sends the
keys of a batch whose changelog records may be lost again; it derives and shows exactly what
the replay does; and its changelogs hold its whole state: rebuilt from them alone, the views
are the same (``runtime/faust_runner/writes.py``)."""

from __future__ import annotations

import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.faults.harness import SPEED, Publication, Stack, check, figure

ROUNDS = (("in", 0.25), ("after", 0.6))
UNDONE = "its writes undone"
RESENT = "its keys are sent again"


@pytest.mark.timeout(1200)
def test_a_worker_killed_in_or_right_after_a_batchs_writes_comes_back_whole(kafka, deployment,
                                                                            tmp_path):
    arm = tmp_path / "torn-arm"
    stack = Stack(deployment, all_in_one=True)
    worker = stack.start("all", command=[sys.executable, "-m", "tests.faults.torn_worker",
                                         "all"], TORN_ARM=str(arm))
    stack.wait_ready()
    run = stack.simulate(speed=SPEED)
    progress = Publication(stack, run, holds=[at for _, at in ROUNDS])
    undone, resent = [], []
    try:
        for how, at in ROUNDS:
            progress.reached(at)
            before = _said(worker.log, UNDONE), _said(worker.log, RESENT)
            arm.write_text(how)
            progress.go_on()
            worker.proc.wait(timeout=300)  # it kills itself at its next batch's writes
            assert worker.proc.returncode == -signal.SIGKILL
            arm.unlink()
            stack.restart(worker)
            stack.wait_ready()
            undone.append(_said(worker.log, UNDONE) - before[0])
            resent.append(_said(worker.log, RESENT) - before[1])
    finally:
        progress.close()
    assert run.wait(timeout=600) == 0
    stack.settle()
    result = check(stack, tmp_path)
    figure("torn writes", f"killed {', '.join(f'{h} a batch’s writes at {a:.0%}' for h, a in ROUNDS)}"
                          f"; databases put back after each: {undone}, whose keys were sent "
                          f"again: {resent}")
    result.report("torn writes")
    assert result.problems() == []
    assert result.views > 250
    # A kill in the middle of the writes left databases to put back; one after them none,
    # and databases whose last batch's keys were sent again.
    assert all(n > 0 for (how, _), n in zip(ROUNDS, undone) if how == "in")
    assert all(n == 0 and r > 0 for (how, _), n, r in zip(ROUNDS, undone, resent)
               if how == "after")

    # The changelogs hold the whole state: the worker's databases removed, it rebuilds them
    # from the changelogs alone, and every view is the same.
    stack.kill(worker)
    folders = list((Path(stack.env.vars["INSPECTIONS_HOME"]) / "state").glob(
        f"{deployment.prefix}-all*"))
    assert folders
    for folder in folders:
        shutil.rmtree(folder)
    stack.restart(worker)
    stack.settle()
    rebuilt = check(stack, tmp_path / "rebuilt")
    rebuilt.report("torn writes, rebuilt from the changelogs")
    assert rebuilt.problems() == []
    assert _said(worker.log, UNDONE) == sum(undone)  # nothing left to put back


def _said(log, words: str) -> int:
    return log.read_text(errors="replace").count(words)

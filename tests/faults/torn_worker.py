"""A real worker (``runtime.faust_runner.host`` and ``run_worker``, on the real broker) that kills
itself with SIGKILL at the worst moments of a batch's state writes, for the torn-writes test
(test only):

    TORN_ARM=/path/to/file python -m tests.faults.torn_worker SERVICE

It runs as ``inspections run SERVICE`` would until the file ``TORN_ARM`` exists; then, at the
next batch that writes state, it kills itself as the file says: ``in`` — in the middle of the
batch's writes (some keys written, the next not); ``after`` — right after them, with their
changelog records queued, none sent yet.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager


SEVERAL = 6  # keys a batch writes, at least, to be cut in the middle


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(path: str) -> None:
    from runtime.faust_runner import batching, rocks, writes

    whole, set_key, commit = writes.whole, rocks.Store._set, batching.Batch.commit
    state = {"how": None, "writes": 0, "written": 0}

    async def counted_commit(self, then=None):
        state["writes"] = sum(len(staged.pending) for staged in self._staged)
        await commit(self, then)

    @contextmanager
    def torn_whole():
        how = state["how"] = _armed(path)
        state["written"] = 0
        with whole():
            yield
        if how == "after" and state["written"]:
            _die()  # the batch's changelog records queued, none sent yet

    def torn_set(self, key, value):
        # In the middle of a batch that writes several keys: half of them written.
        if (state["how"] == "in" and writes._now is not None and state["writes"] >= SEVERAL
                and state["written"] >= state["writes"] // 2):
            _die()
        state["written"] += 1
        set_key(self, key, value)

    writes.whole = torn_whole
    rocks.Store._set = torn_set
    batching.Batch.commit = counted_commit


def _armed(path: str) -> str | None:
    try:
        with open(path) as armed:
            return armed.read().strip() or None
    except FileNotFoundError:
        return None


def main(argv: list[str]) -> None:
    from runtime.config import settings as settings_module
    from runtime.faust_runner.app import run_worker
    from runtime.faust_runner.host import build
    from services import hosted

    arm(os.environ["TORN_ARM"])
    name = argv[0]
    settings = settings_module.load()
    run_worker(build(name, hosted(name), settings), settings, name)


if __name__ == "__main__":
    main(sys.argv[1:])

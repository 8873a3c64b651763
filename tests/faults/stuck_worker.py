"""A real worker of a service (``runtime.faust_runner.worker`` and ``run_worker``, on the real
broker) that gets stuck on a marked record, for the stopping fault test (test only):

    python -m tests.faults.stuck_worker SERVICE MODE

A record is marked when its bytes hold ``MARK`` (an event id starting ``stuck-``). MODE says
what the worker does when it meets one, each time it meets it:

- ``blocks``: the flow's handler never returns and holds the event loop (a handler busy
  for ever: faust's signal handling never runs);
- ``awaits``: the batch awaits something that never comes (the generation's ``Quiet`` never
  decides the record: its records are never acknowledged, so faust's stop waits for them);
- ``raises``: the flow's handler raises (a poison record: the agent restarts and meets it
  again).

Every other record goes through the service's own flow, as ``inspections run`` would.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from dataclasses import replace

from runtime.faust_runner import generations
from runtime.plumbing import logs

MARK = b"stuck-"
MODES = ("blocks", "awaits", "raises")


def _say(mode: str) -> None:
    logs.get("tests.stuck").warning("stuck on the marked record", mode=mode)


def marked(handler, mode: str):
    """The service's handler of the inbound topic, doing ``mode`` on a marked event."""

    @functools.wraps(handler)
    def handle(flow, ctx, event) -> None:
        if str(getattr(event, "id", "")).startswith(MARK.decode()):
            _say(mode)
            if mode == "raises":
                raise RuntimeError("a poison record (the stopping fault test's)")
            while True:  # blocks: the event loop with it
                time.sleep(0.5)
        handler(flow, ctx, event)

    return handle


class NeverDecided(generations.Quiet):
    """A live generation's ``Quiet`` (nothing left out) that never decides a marked record."""

    def __init__(self) -> None:
        super().__init__(None)

    async def left_out(self, messages) -> set:
        if any(MARK in (m.value or b"") for m in messages):
            _say("awaits")
            await asyncio.Event().wait()  # nothing ever sets it
        return set()


def main(argv: list[str]) -> None:
    from runtime.config import settings as settings_module
    from runtime.faust_runner.app import run_worker
    from runtime.faust_runner.host import build
    from services import SYSTEM

    name, mode = argv
    assert mode in MODES, mode
    settings = settings_module.load()
    declared = SYSTEM.service(name)
    quiet = None
    if mode == "awaits":
        quiet = NeverDecided()
    else:
        declared = replace(declared, reads=tuple(
            replace(r, handler=marked(r.handler, mode)) if r.contract else r
            for r in declared.reads))
    run_worker(build(name, [declared], settings, quiet), settings, name)


if __name__ == "__main__":
    main(sys.argv[1:])

"""A real worker of a service (``runtime.faust_runner.host`` and ``run_worker``, on the real
broker) whose rules fail on a marked event after they have changed its state, for the poison test
(test only; no rule of the services fails on any input the fuzz tests found):

    python -m tests.faults.failing_worker SERVICE
    python -m tests.faults.failing_worker all SERVICE   (every service; SERVICE's rules fail)

An inbound event is marked when its ``data.description`` is ``MARK``. On a marked event the
service's own handler runs until it emits what it derived, and that emit raises: by then the
partition's stream time has moved, the unit's state is written to the batch's stores and the
event's id is marked seen, all of which the worker must undo. Every other event goes through
the service's own flow, as ``inspections run`` would.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import replace

MARK = "poison: fails after changing its state"


class Failing:
    """What a handler gets for a marked event: the record's context, whose ``emit`` raises."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx

    def emit(self, fact) -> None:
        raise RuntimeError("a rule failed after it changed its state (the poison test's)")

    def __getattr__(self, name: str):
        return getattr(self._ctx, name)


def marked(handler):
    """The service's handler of the inbound topic, failing on a marked event."""

    @functools.wraps(handler)
    def handle(flow, ctx, event) -> None:
        if getattr(event.data, "description", None) == MARK:
            ctx = Failing(ctx)
        handler(flow, ctx, event)

    return handle


def main(argv: list[str]) -> None:
    from runtime.config import settings as settings_module
    from runtime.faust_runner.app import run_worker
    from runtime.faust_runner.host import build
    from services import hosted

    name, failing = argv[0], argv[-1]  # `all escalation`: every service, the escalation's failing
    settings = settings_module.load()
    declared = [replace(s, reads=tuple(
        replace(r, handler=marked(r.handler)) if r.contract and s.name == failing else r
        for r in s.reads)) for s in hosted(name)]
    run_worker(build(name, declared, settings), settings, name)


if __name__ == "__main__":
    main(sys.argv[1:])

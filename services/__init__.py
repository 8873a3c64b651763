"""The three services, declared once each (``services/<name>/app.py``) and together
(``SYSTEM``): the faust workers, replay, audit verify and the benchmark run these."""

from __future__ import annotations

from kernel.topology import System
from kernel.vocabulary import SERVICES
from runtime.config import topics
from runtime.config.settings import Settings
from services.escalation.app import SERVICE as ESCALATION
from services.findings.app import SERVICE as FINDINGS
from services.scheduler.app import SERVICE as SCHEDULER

# In the vocabulary's order, which also gives each its web port
# (``runtime.faust_runner.app.web_port``).
SYSTEM = System(tuple({s.name: s for s in (SCHEDULER, FINDINGS, ESCALATION)}[name]
                      for name in SERVICES))


def sources(service: str, settings: Settings) -> list[str]:
    """The topics a service's workers read: where its lag is measured, and what "caught up"
    means for it."""
    return [topics.name(settings, read.topic) for read in SYSTEM.service(service).reads]


def create_app(service: str, settings: Settings, quiet=None):
    """The faust app of one service (``inspections run``); ``quiet``: a generation catching
    up beside the live one (``runtime.faust_runner.generations``)."""
    from runtime.faust_runner.worker import build
    from runtime.replay_runner.as_of import PastStates

    try:
        declared = SYSTEM.service(service)
    except KeyError as error:
        raise ValueError(str(error.args[0]).replace("services:", "runnable services:")) from None
    return build(declared, settings, quiet, PastStates(SYSTEM, settings))

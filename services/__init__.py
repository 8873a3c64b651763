"""The three services, declared once each (``services/<name>/app.py``) and together
(``SYSTEM``): the faust workers, replay, audit verify and the benchmark run these."""

from __future__ import annotations

from kernel.topology import Service, System
from kernel.vocabulary import ALL, SERVICES
from runtime.config import topics
from runtime.config.settings import Settings
from services.escalation.app import SERVICE as ESCALATION
from services.findings.app import SERVICE as FINDINGS
from services.scheduler.app import SERVICE as SCHEDULER

# In the vocabulary's order, which also gives each its web port
# (``runtime.faust_runner.app.web_port``).
SYSTEM = System(tuple({s.name: s for s in (SCHEDULER, FINDINGS, ESCALATION)}[name]
                      for name in SERVICES))


RUNNABLE = (*SERVICES, ALL)  # what ``inspections run`` takes: a service, or all in one process


def hosted(name: str) -> tuple[Service, ...]:
    """The services a worker named ``name`` runs: that one, or (``ALL``) every one."""
    if name == ALL:
        return SYSTEM.services
    try:
        return (SYSTEM.service(name),)
    except KeyError:
        raise ValueError(f"unknown service {name!r}; runnable: {', '.join(RUNNABLE)}") from None


def sources(service: str, settings: Settings) -> list[str]:
    """The topics a service's workers (or a worker of ``ALL``) read: where its lag is
    measured, and what "caught up" means for it."""
    return sorted({topics.name(settings, read.topic) for s in hosted(service)
                   for read in s.reads})


def create_app(service: str, settings: Settings, quiet=None):
    """The faust app of one service, or of every one (``ALL``), for ``inspections run``;
    ``quiet``: a generation catching up beside the live one
    (``runtime.faust_runner.generations``)."""
    from runtime.faust_runner.host import build
    from runtime.replay_runner.as_of import PastStates

    return build(service, hosted(service), settings, quiet, PastStates(SYSTEM, settings))

"""The three stream processors. Each is a pure ``domain`` core plus its faust wiring (``app``)."""

from __future__ import annotations

from importlib import import_module

from runtime import topics

# service name -> module whose create_app(settings) builds its faust app.
APPS = {
    "scheduler": "services.scheduler.app",
    "findings": "services.findings.app",
    "escalation": "services.escalation.app",
}

# The topics each service's agents read: where its consumer lag is measured, and what
# "caught up" means for it.
SOURCES = {
    "scheduler": (topics.EVENTS, topics.SCHEDULER_PROGRESS),
    "findings": (topics.EVENTS, topics.BREACHES, topics.FINDINGS_VIEWS),
    "escalation": (topics.EVENTS, topics.ESCALATION_REGISTER),
}


def sources(service: str, settings) -> list[str]:
    return [topics.name(settings, t) for t in SOURCES[service]]


def create_app(service: str, settings):
    try:
        module = APPS[service]
    except KeyError:
        known = ", ".join(sorted(APPS))
        raise ValueError(f"unknown service {service!r}; runnable services: {known}") from None
    return import_module(module).create_app(settings)

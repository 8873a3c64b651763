"""The three stream processors. Each is a pure ``domain`` core plus its faust wiring (``app``)."""

from __future__ import annotations

from importlib import import_module

# service name -> module whose create_app(settings) builds its faust app.
APPS = {
    "scheduler": "services.scheduler.app",
    "findings": "services.findings.app",
    "escalation": "services.escalation.app",
}


def create_app(service: str, settings):
    try:
        module = APPS[service]
    except KeyError:
        known = ", ".join(sorted(APPS))
        raise ValueError(f"unknown service {service!r}; runnable services: {known}") from None
    return import_module(module).create_app(settings)

"""The seed campaign (``zhangzhou-2026``) through the three services in memory, run once per
test session: what the unit tests of the operator page, its pictures, the assessment table
and the audit trail read. Read-only to them: a test that changes what it gets copies it."""

from __future__ import annotations

import functools


@functools.cache
def records() -> tuple:
    """The scenario's records as ``inspections simulate`` would append them."""
    from inspections.simulation import simulate
    from runtime.config import topics
    from runtime.config.settings import Settings

    settings = Settings()
    plan = simulate.load(simulate.find("zhangzhou-2026"))
    return tuple(simulate.as_records(simulate.timeline(plan),
                                     topics.name(settings, topics.EVENTS), settings.partitions))


@functools.cache
def pipeline():
    from inspections.audit.replay import Pipeline
    from runtime.config.settings import Settings

    return Pipeline(Settings()).run(records())


@functools.cache
def views() -> dict:
    return pipeline().views()

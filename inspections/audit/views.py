"""Every view the services serve, built from their stores after a replay: the same view
functions the workers' pages call (``services/*/views.py``), over the in-memory runner's
stores. By kind (``campaigns``, ``units``, ``findings``, ``assessments``, ``escalations``),
each a mapping of id to view."""

from __future__ import annotations

from typing import Any

from services.escalation.views import escalation_view
from services.findings import config as findings_config
from services.findings.views import (
    assessment_years,
    finding_view,
    unit_assessment,
    year_assessment,
)
from services.scheduler import config as scheduler_config
from services.scheduler.flow import CAMPAIGN
from services.scheduler.views import campaign_view, unit_view


def each_unit_view(scheduler: dict, settings):
    """(unit id, view) of every unit, one at a time."""
    policy = scheduler_config.policy(settings)
    for unit_id, state in scheduler["units"].items():
        yield unit_id, unit_view(state, policy)


def each_finding_view(states):
    """(finding id, view) of every finding, a unit's at a time."""
    for state in states.values():
        for finding_id, finding in state.findings.items():
            yield finding_id, finding_view(state.unit_id, finding)


def each_escalation_view(states):
    """(escalation id, view) of every escalation, a unit's at a time."""
    for state in states.values():
        for eid, escalation in state.escalations.items():
            yield eid, escalation_view(escalation)


def unit_views(scheduler: dict, settings) -> dict[str, dict]:
    policy = scheduler_config.policy(settings)
    return {unit_id: unit_view(state, policy)
            for unit_id, state in sorted(scheduler["units"].items())}


def campaigns(scheduler: dict, units: dict[str, dict], settings) -> dict[str, dict]:
    tz = scheduler_config.policy(settings).timezone
    found = {}
    for key, campaign in scheduler["campaigns"].items():
        if key.startswith(CAMPAIGN) and (view := campaign_view(campaign, units, tz)):
            found[key.removeprefix(CAMPAIGN)] = view
    return dict(sorted(found.items()))


def findings(states: dict) -> dict[str, dict]:
    return dict(sorted((finding_id, finding_view(state.unit_id, finding))
                       for state in states.values()
                       for finding_id, finding in state.findings.items()))


def assessments(states: dict, settings) -> dict[str, dict]:
    tz = findings_config.policy(settings).timezone
    years = sorted({y for state in states.values() for y in assessment_years(state, tz)})
    return {str(year): year_assessment(year, [a for state in states.values()
                                              if (a := unit_assessment(state, year, tz))])
            for year in years}


def escalations(states: dict) -> dict[str, dict]:
    return dict(sorted((eid, escalation_view(e)) for state in states.values()
                       for eid, e in state.escalations.items()))


def all_views(memory, settings) -> dict[str, Any]:
    scheduler = memory.stores("scheduler")
    units = unit_views(scheduler, settings)
    return {
        "campaigns": campaigns(scheduler, units, settings),
        "units": units,
        "findings": findings(memory.stores("findings")["units"]),
        "assessments": assessments(memory.stores("findings")["units"], settings),
        "escalations": escalations(memory.stores("escalation")["units"]),
    }


def assessment_parts(states: dict, settings) -> dict[str, list[dict]]:
    """Each year's assessment inputs of these units (a part of the log's), not yet by unit."""
    tz = findings_config.policy(settings).timezone
    found: dict[str, list[dict]] = {}
    for state in states.values():
        for year in assessment_years(state, tz):
            found.setdefault(str(year), []).append(unit_assessment(state, year, tz))
    return found


def due(memory, settings, **filters: str | None) -> dict:
    """What is due, as ``inspections due --json`` answers it, from a replay's stores: each
    owning service's obligations and stream time, filtered and merged the same way."""
    from kernel.due import merge
    from kernel.due import Wanted, due_list, latest
    from services.escalation.views import due_of
    from services.scheduler.views import due_of_campaign, due_of_unit

    policy = scheduler_config.policy(settings)
    scheduler, escalation = memory.stores("scheduler"), memory.stores("escalation")
    owned = {
        "scheduler": [d for state in scheduler["units"].values()
                      for d in due_of_unit(state, policy)]
        + [d for key, campaign in scheduler["campaigns"].items() if key.startswith(CAMPAIGN)
           for d in due_of_campaign(campaign, policy.timezone)],
        "escalation": [d for state in escalation["units"].values()
                       for e in state.escalations.values() if (d := due_of(e)) is not None],
    }
    wanted = Wanted.of(**filters)
    return merge({service: due_list(
        [d.view() for d in items],
        latest(t.stream_time for t in memory.running[service].timelines().values()), wanted)
        for service, items in owned.items()})

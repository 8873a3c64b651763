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

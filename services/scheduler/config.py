"""The scheduler's policy from settings (every threshold of docs/domain.md is a setting) and the
city's policy (``runtime.config.policy``: the team rule, which a policy file may change)."""

from __future__ import annotations

from fractions import Fraction
from zoneinfo import ZoneInfo

from runtime.config import policy as city
from runtime.config.settings import Settings
from services.scheduler.rules import Policy, Reach


def _share(percent: float) -> Fraction:
    return Fraction(str(percent)) / 100


def policy(settings: Settings) -> Policy:
    return of_city(settings, city.load(settings))


def policies(settings: Settings) -> city.Policies[Policy]:
    """The scheduler's policy of each city policy the log adopts (and the starting one)."""
    return city.Policies(settings, of_city)


def of_city(settings: Settings, rules: city.CityPolicy) -> Policy:
    team = rules.team
    return Policy(
        timezone=ZoneInfo(settings.timezone),
        county=Reach(
            min_days=settings.county_min_days,
            township_share=_share(settings.county_township_share),
            min_communities=None,
            department_share=_share(settings.county_department_share),
            min_enterprises=settings.county_min_enterprises,
        ),
        zone=Reach(
            min_days=settings.zone_min_days,
            township_share=None,
            min_communities=settings.zone_min_communities,
            department_share=_share(settings.zone_department_share),
            min_enterprises=settings.zone_min_enterprises,
        ),
        team_min=team.min_size,
        team_max=team.max_size,
        report_months=settings.rectification_report_months,
        status_report_months=settings.status_report_months,
        team_leaders=team.leaders,
        team_deputies=team.deputies,
        team_trained=team.trained,
        team_experts=team.experts,
        team_organizations=frozenset(team.organizations),
    )

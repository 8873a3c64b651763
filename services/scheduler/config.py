"""The scheduler's policy from settings (every threshold of domain.md is a setting)."""

from __future__ import annotations

from fractions import Fraction
from zoneinfo import ZoneInfo

from runtime.settings import Settings
from services.scheduler.rules import Policy, Reach


def _share(percent: float) -> Fraction:
    return Fraction(str(percent)) / 100


def policy(settings: Settings) -> Policy:
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
        team_min=settings.team_min_size,
        team_max=settings.team_max_size,
        report_months=settings.rectification_report_months,
    )

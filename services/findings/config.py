"""The findings policy from settings."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from runtime.config.settings import Settings
from services.findings.state import Policy


def policy(settings: Settings) -> Policy:
    return Policy(timezone=ZoneInfo(settings.timezone),
                  general_rule=settings.general_evidence_rule,
                  follow_up_months=settings.follow_up_months)

"""The escalation policy from settings (every limit of domain.md is a setting)."""

from __future__ import annotations

from datetime import timedelta

from inspections.settings import Settings
from services.escalation.domain import Policy, default_routes

ACTIONS = ("issue_enforcement_document", "report_major_hazard", "request_instructions",
           "report_misconduct_clue", "transfer_for_investigation", "take_immediate_measures",
           "recommend_listed_supervision")


def policy(settings: Settings) -> Policy:
    hours = {action: getattr(settings, f"limit_{action}_h") for action in ACTIONS}
    return Policy(routes=default_routes(hours),
                  level_up_limit=timedelta(hours=settings.escalation_level_up_h))

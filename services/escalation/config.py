"""The escalation policy from settings: every limit of domain.md is a setting, its default
written there alone."""

from __future__ import annotations

from datetime import timedelta

from kernel.vocabulary import ACTIONS
from runtime.settings import Settings
from services.escalation.rules import Policy, routes


def policy(settings: Settings) -> Policy:
    hours = {action: getattr(settings, f"limit_{action}_h") for action in ACTIONS}
    return Policy(routes=routes(hours),
                  level_up_limit=timedelta(hours=settings.escalation_level_up_h))

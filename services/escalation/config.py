"""The escalation policy from the city's policy (``runtime.config.policy``: the settings' limits,
overlaid by the policy file): the routing table, the ladder, the level-up limit."""

from __future__ import annotations

from datetime import timedelta

from kernel.vocabulary import FIRST_MISS
from runtime.config import policy as city
from runtime.config.settings import Settings
from services.escalation.rules import Policy, Route


def policy(settings: Settings) -> Policy:
    return of_city(settings, city.load(settings))


def policies(settings: Settings) -> city.Policies[Policy]:
    """The escalation policy of each city policy the log adopts (and the starting one)."""
    return city.Policies(settings, of_city)


def of_city(settings: Settings, rules: city.CityPolicy) -> Policy:
    return Policy(
        routes={action: Route(action, rule.authority, rule.closed_by,
                              timedelta(hours=rule.limit_h), FIRST_MISS[action])
                for action, rule in rules.actions.items()},
        level_up_limit=timedelta(hours=rules.level_up_h),
        ladder=dict(rules.ladder))

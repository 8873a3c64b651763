"""The city's policy as the contract carries it (``policy.adopted``): ``data`` is the whole
policy, its ``policy_id`` and the fields of the policy file (``PolicyDocument``). The checks
only the whole policy shows (a cycle in the ladder, an authority with no place in it) are the
services' (``runtime.config.policy``): an adoption that fails them is rejected by each
service that runs the policy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kernel import vocabulary
from schemas.fields import Action, Authority, Data, Id, Items, Text

Hours = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=1000)]
Closing = Literal[tuple(sorted({vocabulary.ACK, *vocabulary.HANDLED_BY}))]


class PolicyRule(Data):
    """An escalation action's rule: its first authority, the event that closes it at its
    first level, the hours to act."""

    authority: Authority
    closed_by: Closing
    limit_h: Hours


class PolicyTeam(Data):
    """The team rule (巡查组): size, leaders, deputies, training, experts, member units."""

    min_size: Count
    max_size: Count
    leaders: Count
    deputies: Count
    trained: bool
    experts: Count
    organizations: Items[Text]


class PolicyDocument(Data):
    """A whole city policy, in the policy file's form (``inspections policy show``)."""

    ladder: dict[Authority, Authority | None]
    actions: dict[Action, PolicyRule]
    level_up_h: Hours
    reminder_before_h: Hours
    team: PolicyTeam


class PolicyAdoptedData(PolicyDocument):
    """The city adopted this policy (``policy_id``: its name); ``source`` (the file it came
    from) and ``note`` are the project's additions."""

    policy_id: Id
    source: Text | None = None
    note: Text | None = None


def document(data: PolicyAdoptedData) -> dict:
    """The policy a ``policy.adopted`` carries, in the policy file's form (plain data)."""
    return data.model_dump(mode="json", include=set(PolicyDocument.model_fields))

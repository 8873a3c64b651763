"""The city's policy as data: the escalation ladder (who is next above whom), each escalation
action's first authority, closing event and time limit, the level-up limit, and the team rule
(size bounds, leaders, deputies, training).

The seed's defaults come from the settings (``INSPECTIONS_LIMIT_*_H``, ``INSPECTIONS_TEAM_*``
and the routing table of ``kernel.vocabulary``); a policy file (``INSPECTIONS_POLICY_FILE``,
YAML) overlays them where it says otherwise. The file is checked when it loads: an unknown
authority or action, a cycle in the ladder, an authority with no place in it, a closing event
an action cannot have, a minimum above its maximum, a number that is not finite or above its
bound (a limit of more than a year, ``MAX_LIMIT_H``; a team of more than ``MAX_TEAM_SIZE``):
each refused, naming the file's line.
``inspections policy show`` prints the policy in force in the file's own form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from kernel import capacity
from kernel.policy_log import Adopted, Adoption, adopt, digest
from kernel.vocabulary import (
    ACK,
    ACTIONS,
    AUTHORITIES,
    CLOSED_BY,
    FIRST_AUTHORITY,
    HANDLED_BY,
    NEXT_AUTHORITY,
)
from runtime.config.policy_yaml import PolicyError, Reader
from runtime.config.settings import MAX_LIMIT_H, MAX_TEAM_SIZE, Settings
from schemas.policy import document as policy_document

# The closing events an action may have: an acknowledgement, or the handling event that
# names it by its finding (the enforcement document, the immediate measures).
CLOSINGS = {action: {ACK} | {event for event, a in HANDLED_BY.items() if a == action}
            for action in ACTIONS}


@dataclass(frozen=True)
class ActionRule:
    authority: str  # the first authority it goes to
    closed_by: str  # the event that closes it at its first level
    limit_h: float  # hours to act, from when it is raised


@dataclass(frozen=True)
class TeamRule:
    min_size: int
    max_size: int
    leaders: int  # exactly this many leaders
    deputies: int  # exactly this many deputy leaders
    trained: bool  # every member trained
    experts: int = 1  # at least this many members with role expert (成员含专家)
    # The city committee's member units (安委会成员单位): when listed, every member's
    # organization is one of them; empty, not checked.
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True)
class CityPolicy:
    ladder: dict[str, str | None]  # the authority above each; None: the top
    actions: dict[str, ActionRule]
    level_up_h: float  # the fresh limit after a level-up, from the due time missed
    team: TeamRule
    reminder_before_h: float = 4.0  # a notice to whoever owes an obligation, before its due
    source: str = "the seed's defaults (settings)"
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # where the file said


def defaults(settings: Settings) -> CityPolicy:
    s = settings
    return CityPolicy(
        ladder=dict(NEXT_AUTHORITY),
        actions={a: ActionRule(FIRST_AUTHORITY[a], CLOSED_BY[a], getattr(s, f"limit_{a}_h"))
                 for a in ACTIONS},
        level_up_h=s.escalation_level_up_h,
        team=TeamRule(s.team_min_size, s.team_max_size, 1, 1, True, s.team_min_experts),
        reminder_before_h=s.reminder_before_h,
    )


def load(settings: Settings) -> CityPolicy:
    """The policy in force: the defaults, overlaid by the policy file if one is set."""
    base = defaults(settings)
    if settings.policy_file is None:
        return base
    path = Path(settings.policy_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy file {path}: cannot be read ({exc.strerror})") from None
    return parse(text, base, str(path))


def parse(text: str, base: CityPolicy, source: str) -> CityPolicy:

    reader = Reader(text, source)
    try:
        top = reader.mapping(reader.root(), "the policy", {"ladder", "actions", "level_up_h",
                                                           "team", "reminder_before_h"})
        policy, lines = replace(base, source=source), {}
        if "ladder" in top:
            node, lines["ladder"] = top["ladder"]
            ladder = dict(base.ladder)
            for name, (value, line) in reader.mapping(node, "ladder").items():
                _authority(reader, name, line)
                above = reader.scalar(value)
                if above is not None:
                    _authority(reader, above, line)
                ladder[name] = above
                lines[f"ladder.{name}"] = line
            policy = replace(policy, ladder=ladder)
        if "actions" in top:
            node, lines["actions"] = top["actions"]
            actions = dict(base.actions)
            for name, (value, line) in reader.mapping(node, "actions").items():
                if name not in ACTIONS:
                    reader.fail(line, f"unknown action {name!r}: one of {', '.join(ACTIONS)}")
                fields = reader.mapping(value, f"action {name}",
                                        {"authority", "closed_by", "limit_h"})
                rule = actions[name]
                if "authority" in fields:
                    value, where = fields["authority"]
                    rule = replace(rule, authority=_authority(reader, reader.scalar(value), where))
                if "closed_by" in fields:
                    value, where = fields["closed_by"]
                    closing = reader.scalar(value)
                    if closing not in CLOSINGS[name]:
                        reader.fail(where, f"{name} cannot be closed by {closing!r}: one of "
                                           f"{', '.join(sorted(CLOSINGS[name]))}")
                    rule = replace(rule, closed_by=closing)
                if "limit_h" in fields:
                    value, where = fields["limit_h"]
                    rule = replace(rule, limit_h=reader.number(value, where, MAX_LIMIT_H,
                                                               positive=True))
                actions[name] = rule
                lines[f"actions.{name}"] = line
            policy = replace(policy, actions=actions)
        if "level_up_h" in top:
            node, line = top["level_up_h"]
            policy = replace(policy, level_up_h=reader.number(node, line, MAX_LIMIT_H,
                                                              positive=True))
        if "reminder_before_h" in top:
            node, line = top["reminder_before_h"]
            policy = replace(policy, reminder_before_h=reader.number(
                node, line, MAX_LIMIT_H, positive=True))
        if "team" in top:
            node, lines["team"] = top["team"]
            fields = reader.mapping(node, "team", {"min_size", "max_size", "leaders",
                                                   "deputies", "trained", "experts",
                                                   "organizations"})
            team = policy.team
            if "organizations" in fields:
                value, where = fields["organizations"]
                team = replace(team, organizations=_names(reader, value, where,
                                                          "organizations"))
                lines["team.organizations"] = where
            for name in ("min_size", "max_size", "leaders", "deputies", "experts"):
                if name in fields:
                    value, where = fields[name]
                    team = replace(team, **{name: reader.whole(value, where, MAX_TEAM_SIZE)})
                    lines[f"team.{name}"] = where
            if "trained" in fields:
                value, where = fields["trained"]
                trained = reader.scalar(value)
                if not isinstance(trained, bool):
                    reader.fail(where, f"trained must be true or false; got {trained!r}")
                team = replace(team, trained=trained)
            policy = replace(policy, team=team)
        policy = replace(policy, lines=lines)
        _check(reader, policy)
        return policy
    finally:
        reader.close()


def _names(reader, node, line: int, what: str) -> tuple[str, ...]:
    """A list of names (texts, each once)."""
    import yaml

    if not isinstance(node, yaml.SequenceNode):
        reader.fail(line, f"{what} must be a list of names")
    names = []
    for item in node.value:
        name = reader.scalar(item)
        if not isinstance(name, str) or not name.strip():
            reader.fail(item.start_mark.line + 1, f"{what}: {name!r} is not a name")
        if name in names:
            reader.fail(item.start_mark.line + 1, f"{what}: {name} is given twice")
        names.append(name)
    return tuple(names)


def _authority(reader, name, line: int) -> str:
    if name not in AUTHORITIES:
        reader.fail(line, f"unknown authority {name!r}: one of {', '.join(AUTHORITIES)}")
    return name


def _check(reader, policy: CityPolicy) -> None:
    """What only the whole policy shows: the ladder's cycles and gaps, the team's bounds."""
    lines = policy.lines
    for start in policy.ladder:
        seen, at = [start], policy.ladder[start]
        while at is not None:
            if at not in policy.ladder:
                reader.fail(lines.get(f"ladder.{seen[-1]}", lines.get("ladder", 1)),
                            f"{at} has no place in the ladder (who is above it? null: nobody)")
            if at in seen:
                cycle = " → ".join([*seen[seen.index(at):], at])
                reader.fail(lines.get(f"ladder.{seen[-1]}", lines.get("ladder", 1)),
                            f"a cycle in the ladder: {cycle}")
            seen.append(at)
            at = policy.ladder[at]
    for name, rule in policy.actions.items():
        if rule.authority not in policy.ladder:
            reader.fail(lines.get(f"actions.{name}", lines.get("actions", 1)),
                        f"{name} goes to {rule.authority}, which has no place in the ladder")
    team, where = policy.team, lines.get("team", 1)
    if team.min_size < 1:
        reader.fail(lines.get("team.min_size", where), "min_size must be at least 1")
    if team.min_size > team.max_size:
        reader.fail(lines.get("team.min_size", lines.get("team.max_size", where)),
                    f"min_size {team.min_size} is above max_size {team.max_size}")
    if team.leaders + team.deputies + team.experts > team.max_size:
        reader.fail(lines.get("team.leaders", where),
                    f"{team.leaders} leaders, {team.deputies} deputies and {team.experts} "
                    f"experts do not fit in a team of at most {team.max_size}")


def as_dict(policy: CityPolicy) -> dict:
    """The policy in the policy file's own form, as plain data (a worker's ``/policy``)."""
    return {
        "ladder": dict(policy.ladder),
        "actions": {a: {"authority": r.authority, "closed_by": r.closed_by,
                        "limit_h": r.limit_h} for a, r in policy.actions.items()},
        "level_up_h": policy.level_up_h,
        "reminder_before_h": policy.reminder_before_h,
        "team": {"min_size": policy.team.min_size, "max_size": policy.team.max_size,
                 "leaders": policy.team.leaders, "deputies": policy.team.deputies,
                 "trained": policy.team.trained, "experts": policy.team.experts,
                 "organizations": list(policy.team.organizations)},
    }


def from_document(document: dict[str, Any], base: CityPolicy, source: str) -> CityPolicy:
    """A policy as ``policy.adopted`` carries it (the policy file's form, as data), checked as
    a policy file is: a PolicyError says what is wrong."""
    return parse(json.dumps(document, ensure_ascii=False), base, source)


def adoption(policy: CityPolicy, source: str, policy_id: str | None = None,
             note: str | None = None) -> tuple[dict, str]:
    """The ``data`` of a ``policy.adopted`` carrying ``policy`` whole (its name ``policy_id``,
    by default its digest), and the policy's digest."""
    form = as_dict(policy)
    content = digest(form)
    data = {"policy_id": policy_id or content, **form, "source": source}
    if note:
        data["note"] = note
    return data, content


P = TypeVar("P")


class Policies(Generic[P]):
    """A service's own policy (``build(settings, city_policy)``) for the city's policy in
    force in a partition: the last the log adopted there (``kernel.policy_log.Adopted``) or,
    before the log's first, the worker's starting policy (its settings and policy file). A
    flow keeps what it builds from each (``kernel.policy_log.PolicyCores``, by digest)."""

    def __init__(self, settings: Settings, build: Callable[[Settings, CityPolicy], P]) -> None:
        self.settings, self.build = settings, build
        self.starting = build(settings, load(settings))

    def of(self, adopted: Adopted | None) -> P:
        if adopted is None:
            return self.starting
        return self.build(self.settings, from_document(
            adopted.policy, defaults(self.settings), f"policy {adopted.current.policy_id}"))

    def adopt(self, before: Adopted | None, event: Any) -> Adopted:
        """A partition's policies after ``event`` (a ``policy.adopted``); a policy that is not
        one raises PolicyError (the event is then rejected, the partition's policy kept)."""
        data = event.data
        city = from_document(policy_document(data), defaults(self.settings),
                             f"policy {data.policy_id}")
        form = as_dict(city)
        adoption = Adoption(data.policy_id, digest(form), event.time, event.id, data.source,
                            data.note, event.actor)
        return adopt(before, form, adoption, capacity.POLICIES)


def to_yaml(policy: CityPolicy) -> str:
    """The policy as a policy file (``inspections policy show``)."""
    import yaml

    return (f"# The policy in force, from {policy.source}.\n"
            + yaml.safe_dump(as_dict(policy), sort_keys=False, allow_unicode=True))

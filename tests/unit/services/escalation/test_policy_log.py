"""The city's policy in the log (``policy.adopted``): in force in a partition from its place on.
An escalation raised after it takes its limits, one raised before keeps its due time; a miss
climbs the ladder in force when it is missed; an adoption moves no stream time, counts once
however often it comes, and one that is not a policy is refused with the partition's policy
kept."""

from __future__ import annotations

import copy

import pytest

from runtime.config.policy import PolicyError
from runtime.config.settings import Settings
from services.escalation import config
from tests.examples import DATA
from tests.unit.services.escalation.support import Run, finding, tick
from tests.unit.services.scheduler.support import ev

ID = "F{}:issue_enforcement_document"


def adopted(time: str, id: str = "adopt-1", **changes):
    """A ``policy.adopted``: the example's policy, its first action's limit and the ladder's
    first step as given."""
    data = copy.deepcopy(DATA["policy.adopted"])
    policy = data
    if "limit_h" in changes:
        policy["actions"]["issue_enforcement_document"]["limit_h"] = changes["limit_h"]
    if "ladder" in changes:
        policy["ladder"].update(changes["ladder"])
    return ev("policy.adopted", time, id=id, **data)


def run() -> Run:
    return Run(policies=config.policies(Settings()))


def test_escalations_raised_after_an_adoption_take_its_limits_and_earlier_ones_keep_theirs():
    r = run()
    r.feed(finding("violation", fid="F1", time="2026-04-20T10:00:00+08:00"))
    r.feed(adopted("2026-04-20T11:00:00+08:00", limit_h=2))
    r.feed(finding("violation", fid="F2", time="2026-04-20T12:00:00+08:00"))
    assert r.escalation(ID.format(1))["due"] == "2026-04-21T10:00:00+08:00"  # 24 h, before
    assert r.escalation(ID.format(2))["due"] == "2026-04-20T14:00:00+08:00"  # 2 h, after
    breached = r.feed(tick("2026-04-20T15:00:00+08:00"))
    assert [b.subject_id for b in breached if hasattr(b, "kind")] == [ID.format(2)]


def test_a_miss_climbs_the_ladder_in_force_when_it_is_missed():
    r = run()
    r.feed(finding("violation", fid="F1", time="2026-04-20T10:00:00+08:00"))
    r.feed(adopted("2026-04-20T11:00:00+08:00",
                   ladder={"local_regulator": "city_safety_committee"}))
    r.feed(tick("2026-04-21T10:30:00+08:00"))
    assert r.escalation(ID.format(1))["authority"] == "city_safety_committee"


def test_an_adoption_moves_no_stream_time_and_counts_once():
    r = run()
    r.feed(finding("violation", fid="F1", time="2026-04-20T10:00:00+08:00"))
    adoption = adopted("2026-12-07T09:00:00+08:00", limit_h=2)
    assert r.feed(adoption, adoption) == []
    assert r.stores["timelines"][0].stream_time.isoformat() == "2026-04-20T10:00:00+08:00"
    [partition] = r.stores["policies"].values()
    assert [a.event_id for a in partition.history] == ["adopt-1"]
    assert partition.policy["actions"]["issue_enforcement_document"]["limit_h"] == 2
    assert r.escalation(ID.format(1))["status"] == "open"  # its 24 h not yet past


def test_an_adoption_that_is_not_a_policy_is_refused_and_the_policy_in_force_kept():
    r = run()
    r.feed(adopted("2026-04-20T09:00:00+08:00", limit_h=2))
    cycle = adopted("2026-04-20T10:00:00+08:00", id="adopt-2",
                    ladder={"city_government": "local_regulator"})
    with pytest.raises(PolicyError, match="a cycle in the ladder"):
        r.feed(cycle)
    r.feed(finding("violation", fid="F1", time="2026-04-20T11:00:00+08:00"))
    assert r.escalation(ID.format(1))["due"] == "2026-04-20T13:00:00+08:00"


def test_a_flow_without_policies_runs_its_starting_policy_and_refuses_adoptions():
    r = Run()
    with pytest.raises(ValueError, match="starting policy alone"):
        r.feed(adopted("2026-04-20T09:00:00+08:00", limit_h=2))

"""The city's policy as data (runtime/config/policy.py): the seed's defaults, a file that overlays
them, every refusal naming its line, and the rules following the policy they are given."""

from __future__ import annotations

import pytest

from runtime.config import policy
from runtime.config.settings import Settings
from tests.conftest import REPO

DEFAULTS = policy.defaults(Settings())


def _parse(text: str) -> policy.CityPolicy:
    return policy.parse(text, DEFAULTS, "city.yaml")


def test_the_defaults_written_out_read_back_the_same_and_deploy_holds_them():
    assert policy.as_dict(_parse(policy.to_yaml(DEFAULTS))) == policy.as_dict(DEFAULTS)
    shipped = policy.parse((REPO / "deploy/policy.yaml").read_text(), DEFAULTS, "deploy")
    assert policy.as_dict(shipped) == policy.as_dict(DEFAULTS)


def test_a_file_changes_only_what_it_names():
    city = _parse("ladder:\n  local_regulator: city_safety_committee\n"
                  "actions:\n  issue_enforcement_document: {limit_h: 48}\n"
                  "team: {min_size: 5, leaders: 2}\n")
    assert city.ladder["local_regulator"] == "city_safety_committee"
    assert city.ladder["unit_government"] == DEFAULTS.ladder["unit_government"]
    rule = city.actions["issue_enforcement_document"]
    assert (rule.limit_h, rule.authority) == (48, "local_regulator")
    assert (city.team.min_size, city.team.max_size, city.team.leaders) == (5, 10, 2)
    assert city.level_up_h == DEFAULTS.level_up_h and city.source == "city.yaml"


def test_settings_give_the_defaults_limits():
    changed = policy.defaults(Settings(limit_report_major_hazard_h=12, team_max_size=12))
    assert changed.actions["report_major_hazard"].limit_h == 12
    assert changed.team.max_size == 12


@pytest.mark.parametrize(("text", "line", "says"), [
    ("ladder:\n  local_regulator: city_hall\n", 2, "unknown authority 'city_hall'"),
    ("ladder:\n  mayor: null\n", 2, "unknown authority 'mayor'"),
    ("ladder:\n  local_regulator: city_safety_committee\n"
     "  city_government: local_regulator\n", 3,
     "a cycle in the ladder: local_regulator → city_safety_committee → city_government → "
     "local_regulator"),
    ("actions:\n  issue_enforcement_document:\n    authority: local_regulator\n"
     "    closed_by: immediate.measures.taken\n", 4,
     "issue_enforcement_document cannot be closed by 'immediate.measures.taken'"),
    ("actions:\n  plant_trees: {limit_h: 2}\n", 2, "unknown action 'plant_trees'"),
    ("actions:\n  report_major_hazard: {limit_h: -1}\n", 2, "a number above 0"),
    ("actions:\n  report_major_hazard: {within: 3}\n", 2, "unknown entry 'within'"),
    ("team:\n  min_size: 8\n  max_size: 7\n", 2, "min_size 8 is above max_size 7"),
    ("team:\n  max_size: 6\n  leaders: 4\n  deputies: 3\n", 3, "do not fit in a team"),
    ("team:\n  trained: maybe\n", 2, "trained must be true or false"),
    ("team:\n  leaders: 1.5\n", 2, "a whole number"),
    ("level_up_h: soon\n", 1, "a number is expected"),
    ("escalate: fast\n", 1, "unknown entry 'escalate'"),
    ("ladder: [a, b]\n", 1, "ladder must be a mapping"),
    ("ladder:\n  local_regulator: x\n  local_regulator: y\n", 3, "given twice"),
    ("ladder:\n  - [\n", 3, "not YAML"),
    ("", 1, "empty"),
    # Numbers must be finite and within bounds: these passed once and crashed a worker later,
    # when a deadline was counted from them.
    ("actions:\n  report_major_hazard:\n    limit_h: .nan\n", 3, "a finite number"),
    ("actions:\n  report_major_hazard:\n    limit_h: .inf\n", 3, "a finite number"),
    ("level_up_h: -.inf\n", 1, "a finite number"),
    ("level_up_h: .NaN\n", 1, "a finite number"),
    ("actions:\n  report_major_hazard:\n    limit_h: 1.0e+8\n", 3,
     "a number of at most 8784 is expected; got 100000000.0"),
    ("level_up_h: 8785\n", 1, "at most 8784"),
    (f"level_up_h: {10 ** 400}\n", 1, "at most 8784"),  # no float can hold it
    ("team:\n  max_size: 100000\n", 2, "a whole number of at most 100"),
    ("team:\n  leaders: 101\n", 2, "at most 100"),
])
def test_a_bad_policy_is_refused_naming_its_line(text, line, says):
    with pytest.raises(policy.PolicyError) as refused:
        _parse(text)
    assert f"policy file city.yaml, line {line}: " in str(refused.value)
    assert says in str(refused.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(policy.PolicyError, match="cannot be read"):
        policy.load(Settings(policy_file=tmp_path / "nowhere.yaml"))


def test_escalations_climb_the_citys_ladder_with_its_limits(tmp_path):
    from services.escalation import config
    from tests.unit.services.escalation.support import Run, finding, notices, tick

    city = tmp_path / "city.yaml"
    city.write_text("ladder:\n  local_regulator: city_safety_committee\n"
                    "actions:\n  issue_enforcement_document: {limit_h: 2}\nlevel_up_h: 5\n")
    run = Run(config.policy(Settings(policy_file=city)))
    run.feed(finding("violation", time="2026-04-20T10:00:00+08:00"))
    assert run.feed(tick("2026-04-20T12:00:00+08:00")) == []  # at the due time: in time
    up = notices(run.feed(tick("2026-04-20T12:00:01+08:00")))
    assert up == [("escalation.escalated", "F1:issue_enforcement_document",
                   "city_safety_committee", 2)]
    assert run.escalation("F1:issue_enforcement_document")["due"] == \
        "2026-04-20T17:00:00+08:00"
    # Under the seed's ladder the same miss goes to the city safety office.
    seed = Run()
    seed.feed(finding("violation", time="2026-04-20T10:00:00+08:00"))
    assert notices(seed.feed(tick("2026-04-21T10:00:01+08:00")))[0][2] == "city_safety_office"


def test_the_team_rule_follows_the_policy(tmp_path):
    from services.scheduler import config
    from tests.unit.services.scheduler.support import Run, ev, kinds, member, schedule

    members = [member("p1", "leader"), member("p2", "leader"), member("p3", trained=False)]
    members += [member(f"p{i}") for i in range(4, 9)]
    visit = (schedule(team={"team_id": "T", "members": members}),
             ev("visit.started", "2026-04-18T09:00:00+08:00"))
    assert kinds(Run().feed(*visit)) == ["team_composition_invalid"]
    city = tmp_path / "city.yaml"
    city.write_text("team: {leaders: 2, deputies: 0, trained: false, experts: 0}\n")
    assert Run(config.policy(Settings(policy_file=city))).feed(*visit) == []


def test_the_bounds_are_the_settings_bounds_and_a_limit_at_the_bound_counts_a_deadline(
        tmp_path):
    """A year (a leap year's hours) is the most a city may give, in the file as in the
    settings, and a deadline counted from the contract's last year with it stays in the
    calendar."""
    from pydantic import ValidationError

    from runtime.config.settings import MAX_LIMIT_H

    city = _parse(f"level_up_h: {MAX_LIMIT_H}\nactions:\n"
                  f"  report_major_hazard: {{limit_h: {MAX_LIMIT_H}}}\n"
                  "team: {max_size: 100}\n")
    assert city.level_up_h == city.actions["report_major_hazard"].limit_h == 366 * 24
    from services.escalation import config
    from tests.unit.services.escalation.support import Run, finding, notices, tick

    bound = tmp_path / "city.yaml"
    bound.write_text(f"actions:\n  issue_enforcement_document: {{limit_h: {MAX_LIMIT_H}}}\n"
                     f"level_up_h: {MAX_LIMIT_H}\n")
    run = Run(config.policy(Settings(policy_file=bound)))
    run.feed(finding("violation", time="2099-12-31T23:00:00-12:00"))  # the contract's last
    assert run.escalation("F1:issue_enforcement_document")["due"] == \
        "2101-01-01T23:00:00-12:00"  # 366 days on
    up = notices(run.feed(tick("2099-12-31T23:59:00-12:00")))
    assert up == []
    for name in ("limit_report_major_hazard_h", "escalation_level_up_h"):
        for bad in ("nan", "inf", "-inf", 1.0e8, MAX_LIMIT_H + 1):
            with pytest.raises(ValidationError):
                Settings(**{name: bad})
        assert getattr(Settings(**{name: MAX_LIMIT_H}), name) == MAX_LIMIT_H


def test_the_committees_member_units_are_a_list_of_names_and_members_outside_fall_short(
        tmp_path):
    from services.scheduler import config
    from tests.unit.services.scheduler.support import Run, ev, kinds, schedule, team

    members = team()["members"]
    members[3] = {**members[3], "organization": "某咨询公司"}
    visit = (schedule(team={"team_id": "T", "members": members}),
             ev("visit.started", "2026-04-18T09:00:00+08:00"))
    city = tmp_path / "city.yaml"
    city.write_text("team:\n  organizations: [市安委会成员单位, 市应急管理局]\n")
    breaches = Run(config.policy(Settings(policy_file=city))).feed(*visit)
    assert kinds(breaches) == ["team_composition_invalid"]
    assert "not from the committee's member units: p4" in breaches[0].detail
    for text, said in (("team: {organizations: 市应急管理局}\n", "must be a list of names"),
                       ("team:\n  organizations: [a, a]\n", "a is given twice"),
                       ("team: {experts: 9, max_size: 10}\n", "do not fit in a team")):
        city.write_text(text)
        with pytest.raises(policy.PolicyError, match=said):
            config.policy(Settings(policy_file=city))

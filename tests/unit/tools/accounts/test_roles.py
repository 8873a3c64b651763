"""What an account may see and do, by its role: pure, over the views' dicts."""

from __future__ import annotations

import pytest

from inspections.accounts.roles import EVERYONE, Account, AccountError
from kernel.vocabulary import ROLE_AUTHORITIES, ROLES


def _escalation(unit="changtai", authority="local_regulator", status="open",
                action="issue_enforcement_document"):
    return {"escalation_id": f"F1:{action}", "finding_id": "F1", "unit_id": unit,
            "authority": authority, "status": status, "action": action, "level": 1}


REGULATOR = Account("changtai-reg", "unit", "local_regulator", ("changtai",))
CITY = Account("city", "city", "city_safety_office")
AUDITOR = Account("audit", "auditor")


def test_a_county_account_sees_its_unit_alone_and_every_city_account_every_unit():
    assert REGULATOR.sees("changtai") and not REGULATOR.sees("pinghe")
    assert not REGULATOR.sees(None) and not REGULATOR.sees_all
    for account in (CITY, AUDITOR, Account("admin", "admin"),
                    Account("jw", "authority", "discipline_authorities")):
        assert account.sees("pinghe") and account.sees(None) and account.sees_all


def test_the_holder_acts_and_nobody_else():
    e = _escalation()
    assert REGULATOR.may(e) == ["acknowledge", "resolve", "document"]
    assert REGULATOR.why_not(_escalation(unit="pinghe"), "document") == "not found"
    assert "held by city_safety_office" in REGULATOR.why_not(
        _escalation(authority="city_safety_office"), "acknowledge")
    assert "closed already" in REGULATOR.why_not(_escalation(status="closed"), "resolve")
    assert "answers an escalation to take_immediate_measures only" in REGULATOR.why_not(
        e, "measures")
    assert "reads and does not act" in AUDITOR.why_not(e, "acknowledge")
    assert AUDITOR.may(e) == [] and EVERYONE.may(e) == []
    assert CITY.may(e) == []  # the local regulator holds it
    assert CITY.may(_escalation(authority="city_safety_office", status="missed_at_top"))
    assert "must be one of" in REGULATOR.why_not(e, "delete")


def test_what_is_owed_goes_to_its_authority_or_owner():
    report = {"kind": "rectification_report", "unit_id": "changtai", "authority": None}
    government = Account("ct-gov", "unit", "unit_government", ("changtai",))
    assert government.owes(report) and not REGULATOR.owes(report)
    assert not Account("ph-gov", "unit", "unit_government", ("pinghe",)).owes(report)
    coverage = {"kind": "campaign_coverage", "unit_id": "pinghe", "authority": None}
    assert CITY.owes(coverage) and not AUDITOR.owes(coverage)
    escalation = {"kind": "escalation", "unit_id": "changtai", "authority": "local_regulator"}
    assert REGULATOR.owes(escalation) and not CITY.owes(escalation)
    # After-care: the unit owes its follow-ups; the city safety office its status reports.
    follow_up = {"kind": "rectification_follow_up", "unit_id": "changtai", "authority": None}
    assert government.owes(follow_up) and not CITY.owes(follow_up)
    status = {"kind": "status_report", "unit_id": "changtai", "authority": None}
    assert CITY.owes(status) and not government.owes(status)


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_takes_its_authorities_and_no_other(role):
    allowed = ROLE_AUTHORITIES[role]
    units = ("changtai",) if role == "unit" else ()
    for authority in allowed:
        assert Account("a", role, authority, units).authority == authority
    with pytest.raises(AccountError):
        Account("a", role, "not_an_authority", units)
    if allowed:
        with pytest.raises(AccountError, match="acts as one of"):
            Account("a", role, None, units)


def test_a_unit_account_has_exactly_one_unit_and_others_none():
    with pytest.raises(AccountError, match="exactly one unit"):
        Account("a", "unit", "local_regulator")
    with pytest.raises(AccountError, match="every unit"):
        Account("a", "city", "city_government", ("changtai",))
    with pytest.raises(AccountError, match="role must be one of"):
        Account("a", "mayor")

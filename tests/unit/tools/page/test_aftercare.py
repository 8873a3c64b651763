"""Recording a status report to the city government from the page: only the city safety
office, only for a campaign the views show and the units it plans; nothing is published
otherwise (the refusals come before the broker is asked)."""

from __future__ import annotations

import asyncio

from inspections.accounts.roles import EVERYONE, Account
from inspections.page.aftercare import record_sent, status_event

OFFICE = Account("office", "city", "city_safety_office")
PLAN = {"campaign_id": "zhangzhou-2026", "units": [{"unit_id": "changtai"},
                                                   {"unit_id": "pinghe"}]}


def _refused(who, plan, units, action_id=None):
    return asyncio.run(record_sent(None, who, plan, units, None, action_id))


def test_who_may_record_and_for_what():
    assert _refused(Account("gov", "city", "city_government"), PLAN, ["pinghe"])[0] == 403
    assert _refused(EVERYONE, PLAN, ["pinghe"])[0] == 403
    assert _refused(OFFICE, None, ["pinghe"]) == (404, {"error": "no such campaign in the "
                                                                 "views"})
    status, answer = _refused(OFFICE, PLAN, ["pinghe", "nowhere"])
    assert status == 400 and "does not plan nowhere" in answer["error"]
    assert _refused(OFFICE, PLAN, [" ", ""])[0] == 400
    assert _refused(OFFICE, PLAN, ["pinghe"], action_id="not-hex")[0] == 400


def test_the_event_is_the_contracts_keyed_by_the_campaign_and_names_the_account():
    from datetime import datetime, timezone

    from schemas import Rejection, decode
    from kernel.codec import dumps

    event = status_event(OFFICE, "zhangzhou-2026", ["changtai", "pinghe"], "SR-9", "a" * 32,
                         datetime(2026, 8, 5, 1, tzinfo=timezone.utc))
    checked = decode(dumps(event), key=b"zhangzhou-2026")
    assert not isinstance(checked, Rejection), checked
    assert (checked.type, checked.actor, checked.data.unit_ids) == (
        "status.report.submitted", "office", ["changtai", "pinghe"])
    assert checked.id == "act-" + "a" * 32

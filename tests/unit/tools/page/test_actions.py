"""The event an action publishes passes the gate and names its account; what became of it
is read from the escalation's ladder or the rejected records."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from inspections.accounts.roles import Account
from inspections.page.actions import action_event, missing, outcome
from kernel.codec import dumps
from schemas import Rejection, decode

NOW = datetime(2026, 5, 1, 9, 30, tzinfo=timezone.utc)
REGULATOR = Account("changtai-reg", "unit", "local_regulator", ("changtai",))
ESCALATION = {"escalation_id": "F1:issue_enforcement_document", "finding_id": "F1",
              "unit_id": "changtai", "authority": "local_regulator", "status": "open",
              "action": "issue_enforcement_document", "level": 1, "closed_at": None,
              "history": []}
FIELDS = {"resolution": "已整改", "document_no": "长应急罚〔2026〕21号",
          "department": "长泰县应急管理局", "description": "停产整顿"}


@pytest.mark.parametrize("action, event_type", [
    ("acknowledge", "escalation.acknowledged"), ("resolve", "escalation.resolved"),
    ("document", "enforcement.document.issued"), ("measures", "immediate.measures.taken")])
def test_each_action_is_a_contract_event_the_gate_accepts(action, event_type):
    event = action_event(REGULATOR, ESCALATION, action, FIELDS, "a" * 32, NOW)
    checked = decode(dumps(event), key=b"changtai")
    assert not isinstance(checked, Rejection), checked
    assert checked.type == event_type and checked.id == "act-" + "a" * 32
    assert checked.actor == "changtai-reg" and checked.subject == "changtai"
    if action == "acknowledge":
        assert checked.data.by == "changtai-reg"


def test_an_action_needs_its_fields():
    assert missing("resolve", {"resolution": "  "}) == "resolve needs resolution"
    assert missing("document", {}) == "document needs document_no, department"
    assert missing("acknowledge", {}) is None


def _step(event_id, what, note="", time="2026-05-01T09:30:00+00:00"):
    return {"time": time, "what": what, "level": 1, "authority": "local_regulator",
            "due": None, "event_id": event_id, "by": None, "note": note}


def test_the_outcome_from_the_ladder_or_the_rejections():
    place = ("t.events", 3, 17)
    assert outcome(ESCALATION, "act-1", [], place) == {"state": "waiting"}
    closed = {**ESCALATION, "status": "closed", "closed_at": "2026-05-01T09:30:00+00:00",
              "history": [_step("act-1", "closed")]}
    assert outcome(closed, "act-1", [], place)["state"] == "done"
    stays = {**ESCALATION, "history": [_step("act-1", "acknowledged",
                                              "does not close it before a level-up")]}
    assert outcome(stays, "act-1", [], place)["state"] == "noted"
    after = {**closed, "history": [*closed["history"],
                                   _step("act-2", "noted", "acknowledged after it was closed",
                                         "2026-05-02T00:00:00+00:00")]}
    assert outcome(after, "act-2", [], place)["state"] == "noted"
    rejected = [{"topic": "t.events", "partition": 3, "offset": 17, "reason": "too far ahead",
                 "cause": "too_far_ahead"}]
    assert outcome(ESCALATION, "act-1", rejected, place) == {
        "state": "refused", "reason": "too far ahead", "cause": "too_far_ahead"}
    assert outcome(ESCALATION, "act-1", rejected, ("t.events", 3, 18))["state"] == "waiting"


def test_a_refusal_says_why_with_its_status():
    from inspections.page.actions import refusal

    assert refusal(REGULATOR, ESCALATION, "document", FIELDS) == (202, None)
    assert refusal(REGULATOR, ESCALATION, "delete", FIELDS)[0] == 400
    assert refusal(REGULATOR, {**ESCALATION, "status": "closed"}, "resolve", FIELDS)[0] == 409
    held = {**ESCALATION, "authority": "city_safety_office"}
    assert refusal(REGULATOR, held, "acknowledge", FIELDS) == (
        403, "the escalation is held by city_safety_office now, not by local_regulator")
    assert refusal(REGULATOR, ESCALATION, "resolve", {}) == (400, "resolve needs resolution")
    assert refusal(Account("a", "auditor"), ESCALATION, "acknowledge", FIELDS)[0] == 403

"""Records that once broke something, kept as regression inputs: each with what broke and what
the system does with it now (the rejection's cause, or accepted). Add one here whenever the
fuzz tests or anyone else finds another."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.examples import event


@dataclass(frozen=True)
class Case:
    name: str
    broke: str  # what it did before
    key: bytes | None
    value: bytes
    outcome: str  # a rejection's cause, or "accepted"


def _raw(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _finding(**changes) -> dict:
    body = event("finding.recorded", id="corpus-finding")
    body.update({k: v for k, v in changes.items() if k != "data"})
    body["data"].update(changes.get("data", {}))
    return body


def _cases() -> list[Case]:
    tick = _raw(event("clock.ticked", id="corpus-tick")).replace(
        b'"data": {}', b'"data": {"n": ' + b"9" * 4400 + b"}")
    planned = event("campaign.planned", id="corpus-plan")
    planned["data"]["coverage_due"] = "9999-12-31"
    wrong_types = _finding(data={f"x{n}": [n] for n in range(10_000)})
    wrong_types["data"]["evidence"] = list(range(40_000))  # 437 KB in all
    del_in_source = _finding()
    del_in_source["source"] = "\x7f"
    return [
        Case("poison-pill integer", "json.loads raised ValueError (Python's int-from-string "
             "limit); every service restarted on it for ever, replay died", None, tick,
             "not_json"),
        Case("time at the end of the calendar", "OverflowError in kernel/dates.py in every "
             "service", b"changtai", _raw(_finding(time="9999-12-31T23:59:59-14:00")),
             "schema"),
        Case("coverage due at the end of the calendar", "OverflowError in the campaign side",
             b"zhangzhou-2026", _raw(planned), "schema"),
        Case("far-future time", "a site.inspected dated 2099 moved its partition's stream time: "
             "12 breaches and 9 escalations for other units",
             b"changtai", _raw(event("site.inspected", id="corpus-2099",
                                     time="2099-04-20T10:30:00+08:00")), "too_far_ahead"),
        Case("437 KB of wrong types", "(500 KB of them:) a 16-46 MB reason, 6-8 s of CPU; the "
             "rejection too large for its topic, the batch never committed", b"changtai",
             _raw(wrong_types), "schema"),
        Case("523 KB finding id", "accepted: 1.5 MB changelog records, refused by the broker, "
             "state silently not replicated", b"changtai",
             _raw(_finding(data={"finding_id": "F" * 523_000})), "schema"),
        Case("the stores' separator in an id", "accepted: \\x1f splits a state key",
             b"changtai", _raw(_finding(data={"finding_id": "F\x1f1"})), "schema"),
        Case("DEL in an attribute", "its rejection's reason held the control character",
             b"changtai", _raw(del_in_source), "schema"),
        Case("lone surrogate", "accepted by Python's json; no UTF-8 encoding of it exists",
             b"changtai", _raw(_finding()).replace(b'"description": "',
                                                   b'"description": "\\ud800', 1), "not_json"),
        Case("NaN", "accepted by Python's json", b"changtai",
             _raw(_finding()).replace(b'"aspect": 3', b'"aspect": NaN'), "not_json"),
        Case("a text at its bound", "(never broke: the edge that must stay accepted)",
             b"changtai", _raw(_finding(data={"description": "长" * 8192})), "accepted"),
    ]


CASES = _cases()

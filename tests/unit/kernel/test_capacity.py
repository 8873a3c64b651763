"""How much a unit's state keeps (``kernel.capacity``): the rules stop growing it at each
limit and say so, and at every limit, with every field as long as the contract allows, each
key of a service's state fits one changelog record."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from kernel import capacity
from kernel.vocabulary import BROADCAST
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner.stores import Codec
from runtime.memory_runner.memory import Memory
from runtime.plumbing.kafka import Record
from services import SYSTEM
from tests.examples import event

SETTINGS = Settings(partitions=1)
T0 = datetime(2026, 4, 20, 10, tzinfo=timezone(timedelta(hours=8)))


@given(st.lists(st.integers(), max_size=60))
def test_a_history_keeps_its_first_steps_and_its_latest(steps):
    history: tuple = ()
    for step in steps:
        history = capacity.stepped(history, step)
    assert len(history) == min(len(steps), capacity.STEPS)
    if steps:
        assert history[-1] == steps[-1]
        assert history[:-1] == tuple(steps[:len(history) - 1])


def test_notes_stop_saying_that_later_ones_are_not_kept():
    notes: tuple = ()
    for n in range(capacity.NOTES + 5):
        notes = capacity.noted(notes, f"note {n}")
    assert len(notes) == capacity.NOTES and notes[-1] == capacity.NOTES_FULL
    assert notes[:2] == ("note 0", "note 1")


def _feed(memory: Memory, bodies: list[dict]) -> None:
    for offset, body in enumerate(bodies, start=getattr(memory, "fed", 0)):
        key = None if body["type"] in BROADCAST else body["subject"].encode()
        ms = int(datetime.fromisoformat(body["time"]).timestamp() * 1000)
        memory.feed(Record(topics.EVENTS, 0, offset, ms, key,
                           json.dumps(body, ensure_ascii=False).encode()))
        memory.fed = offset + 1


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _memory() -> tuple[Memory, list]:
    out: list = []
    return Memory(SYSTEM, SETTINGS, out=lambda topic, e: out.append((topic, e))), out


def _finding(n: int, **data) -> dict:
    body = event("finding.recorded", id=f"f-{n}", time=_at(n))
    body["data"].update(finding_id=f"F-{n}", category="violation",
                        cannot_ensure_safety=False, listed_supervision_advised=False, **data)
    return body


def test_a_unit_past_its_findings_keeps_none_more_and_notes_each(monkeypatch):
    monkeypatch.setattr(capacity, "FINDINGS", 2)
    monkeypatch.setattr(capacity, "ESCALATIONS", 2)
    memory, out = _memory()
    _feed(memory, [_finding(n) for n in range(4)])
    findings = memory.stores("findings")["units"]["changtai"]
    assert sorted(findings.findings) == ["F-0", "F-1"]
    assert [n.split(": ", 1)[1] for n in findings.unmatched] == [
        "finding F-2 not kept: the unit has 2 findings",
        "finding F-3 not kept: the unit has 2 findings"]
    escalations = memory.stores("escalation")["units"]["changtai"].escalations
    assert sorted(escalations) == ["F-0:issue_enforcement_document",
                                   "F-1:issue_enforcement_document"]
    raised = [e["data"]["finding_id"] for t, e in out if t == topics.ESCALATIONS]
    assert raised == ["F-0", "F-1"]


def test_a_unit_past_its_visits_and_a_visit_past_its_sites_keep_none_more(monkeypatch):
    monkeypatch.setattr(capacity, "VISITS", 2)
    monkeypatch.setattr(capacity, "SITES", 2)
    memory, _ = _memory()
    visits = [event("visit.scheduled", id=f"v-{n}", time=_at(n),
                    data={**event("visit.scheduled")["data"], "visit_id": f"V-{n}"})
              for n in range(3)]
    sites = [event("site.inspected", id=f"s-{n}", time=_at(10 + n),
                   data={**event("site.inspected")["data"], "visit_id": "V-0",
                         "site_id": f"S-{n}"}) for n in range(3)]
    _feed(memory, visits + sites)
    unit = memory.stores("scheduler")["units"]["changtai"]
    assert sorted(unit.visits) == ["V-0", "V-1"]
    assert unit.visits["V-0"].sites["township"] == ("S-0", "S-1")
    assert [a.split(": ", 1)[1] for a in unit.anomalies] == [
        "visit V-2 not kept: the unit has 2 visits",
        "site S-2 not kept: visit V-0 has 2 township sites"]


def test_an_escalation_past_its_steps_keeps_its_first_and_its_latest(monkeypatch):
    monkeypatch.setattr(capacity, "STEPS", 3)
    memory, _ = _memory()
    acks = [event("escalation.acknowledged", id=f"a-{n}", time=_at(10 + n),
                  data={"escalation_id": "F-0:issue_enforcement_document",
                        "unit_id": "changtai", "by": f"officer {n}"}) for n in range(5)]
    _feed(memory, [_finding(0), *acks])
    history = memory.stores("escalation")["units"]["changtai"].escalations[
        "F-0:issue_enforcement_document"].history
    assert [s.what for s in history] == ["raised", "acknowledged", "acknowledged"]
    assert history[-1].by == "officer 4"


def test_campaigns_past_the_open_ones_are_not_kept(monkeypatch):
    monkeypatch.setattr(capacity, "OPEN_CAMPAIGNS", 1)
    memory, _ = _memory()
    plans = [event("campaign.planned", id=f"c-{n}", subject=f"C-{n}", time=_at(n),
                   data={**event("campaign.planned")["data"], "campaign_id": f"C-{n}"})
             for n in range(2)]
    _feed(memory, plans)
    kept = [k for k in memory.stores("scheduler")["campaigns"] if k.startswith("campaign:")]
    assert kept == ["campaign:C-0"]


# -- at every limit, the largest keys ------------------------------------------------------
WIDE = "\U0001f642"  # four bytes of UTF-8 a character: the longest text per character


def _id(n: int = 0) -> str:
    return (str(n) + WIDE * 128)[:128]


def _text() -> str:
    return WIDE * 8192


def _largest(value_type, value) -> int:
    raw = Codec(value_type).dumps(value)
    assert Codec(value_type).loads(raw) == value
    return len(raw)


def test_every_key_at_its_limits_fits_a_changelog_record():
    from kernel.frozen import evolve
    from services.escalation.rules import Escalation, Step, UnitEscalations, Unmatched
    from services.findings.state import Finding, UnitFindings
    from services.findings.state import Step as FindingStep
    from services.scheduler.rules import Member, UnitState, Visit

    t = T0
    step = Step(t, "acknowledged", 9, "city_government", t, _id(), _text(), _text())
    escalation = Escalation(
        escalation_id=_id() + ":recommend_listed_supervision", finding_id=_id(),
        unit_id=_id(), action="recommend_listed_supervision", level=9,
        authority="city_government", due=t, raised_at=t, correlation_id=_id(),
        history=(step,) * capacity.STEPS)
    unmatched = Unmatched(_id(), "escalation.acknowledged", _id() + ":transfer_for_investigation")
    header = UnitEscalations(unit_id=_id(), unmatched=(unmatched,) * capacity.NOTES)
    note = f"{_id()}: " + WIDE * 600  # a note names ids, never a whole text
    sizes = {
        "escalation": _largest(Escalation, escalation),
        "escalations' header": _largest(UnitEscalations, header)
        + capacity.ESCALATIONS * (len(escalation.escalation_id.encode()) + 3),
    }
    # A finding: its record's texts (at most the record, 512 KiB) and its steps' notes.
    evidence = tuple(WIDE * 8192 for _ in range(16))  # about 512 KiB: the whole record
    finding = Finding(
        finding_id=_id(), visit_id=_id(), category="general", description=_text(),
        evidence=evidence, cannot_ensure_safety=True, recorded_at=t, sector="other",
        aspect=9, item=60, site_id=_id(), advice=_text(),
        handling=(f"enforcement document {_id()} by {_text()}",) * capacity.STEPS,
        history=(FindingStep(t, "finding.amended", _id(), "pending", "amended (" + _text()
                             + "): " + "x" * 1200),) * capacity.STEPS)
    sizes["finding"] = _largest(Finding, finding)
    findings_header = UnitFindings(unit_id=_id(), unmatched=(note,) * capacity.NOTES)
    sizes["findings' header"] = _largest(UnitFindings, findings_header) + (
        capacity.FINDINGS + capacity.VISITS) * (512 + 3) + capacity.BREACHES * (36 + 3)
    visit = Visit(visit_id=_id(), sites={kind: tuple(_id(n) for n in range(capacity.SITES))
                                        for kind in ("township", "community", "department",
                                                     "enterprise")})
    team = tuple(Member(_id(n), "member", True, "other", False) for n in range(1000))
    sizes["visit"] = _largest(Visit, evolve(visit, campaign_id=_id(), unit_name=_text(),
                                            team=team))
    sizes["scheduler's header"] = _largest(
        UnitState, UnitState(unit_id=_id(), anomalies=(note,) * capacity.NOTES)) + \
        capacity.VISITS * (512 + 3)
    assert max(sizes.values()) < topics.CHANGELOG_MAX_BYTES, sizes

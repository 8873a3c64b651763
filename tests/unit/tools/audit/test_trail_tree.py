"""``audit trail`` as a tree, over the seed campaign's log in memory: an escalation missed at
every level shows each level with its events and breach, each derived event over its cause."""

from __future__ import annotations

import json

from rich.console import Console

from inspections.audit.trail import trail_of
from inspections.audit.trail_tree import tree


def _log():
    from runtime.plumbing.kafka import Record
    from tests.unit import seeded

    entries = [(r, json.loads(r.value)) for r in seeded.records()]
    for topic, events in seeded.pipeline().derived_by_topic().items():
        entries += [(Record(topic, 0, i, 0, None, b""), e) for i, e in enumerate(events)]
    return seeded.views(), entries


def _text(ident, entries) -> str:
    console = Console(width=250, record=True, file=open("/dev/null", "w"))
    console.print(tree(ident, trail_of(entries, ident)))
    return console.export_text()


def test_an_escalation_missed_at_every_level_is_a_ladder():
    views, entries = _log()
    top = next(e for e in views["escalations"].values() if e["status"] == "missed_at_top")
    text = _text(top["escalation_id"], entries)
    levels = sorted({s["level"] for s in top["history"]})
    for level in levels:
        assert f"L{level} " in text
    lines = text.splitlines()
    ladder = lines.index(next(line for line in lines if "the ladder" in line))
    assert ladder == 1
    # Each level holds its breach; the first holds the raise over the finding that caused it.
    assert text.count("deadline.breached escalation_unacknowledged") >= len(levels) - 1
    raised = next(i for i, line in enumerate(lines) if "escalation.raised" in line)
    assert "caused by" in lines[raised + 1] and "finding.recorded" in lines[raised + 1]
    assert any("├──" in line or "└──" in line for line in lines)


def test_a_visit_trail_has_its_case():
    views, entries = _log()
    visit = next(v["visit_id"] for u in views["units"].values() for v in u["visits"]
                 if "rectification_report_overdue" in v["breaches"])
    text = _text(visit, entries)
    assert "the ladder" not in text
    assert "named" in text and "same case" in text
    assert "visit.started" in text and "deadline.breached rectification_report_overdue" in text


def test_the_trail_names_who_acted_and_finds_the_document_that_answered():
    from runtime.plumbing.kafka import Record
    from tests.examples import event

    finding = event("finding.recorded", id="ev-f1", correlationid="visit-1")
    document = event("enforcement.document.issued", id="act-" + "a" * 32,
                     time="2026-04-19T10:00:00+08:00", actor="changtai-reg")
    other = event("enforcement.document.issued", id="ev-other")
    other["data"]["finding_id"] = "F-someone-else"
    for body in (document, other):  # no case: the page's actions carry none
        body.pop("correlationid", None)
    entries = [(Record("t.events", 0, i, 0, None, b""), body)
               for i, body in enumerate((finding, document, other))]
    escalation = f"{finding['data']['finding_id']}:issue_enforcement_document"
    found = trail_of(entries, escalation)
    assert [e.id for e in found] == ["act-" + "a" * 32]
    assert found[0].actor == "changtai-reg" and "by changtai-reg" in found[0].line()
    assert "by changtai-reg" in _text(escalation, entries)
    # A measures event does not answer an escalation asking for a document.
    assert trail_of(entries, f"{finding['data']['finding_id']}:take_immediate_measures") == []

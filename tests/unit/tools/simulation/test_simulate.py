"""Scenarios: the shipped seed campaign expands to valid events, the same every time, and run
through the pure cores it shows every kind of breach and every escalation path."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from inspections.audit.replay import Pipeline
from inspections.simulation import simulate
from kernel.vocabulary import BROADCAST
from runtime.config.settings import Settings
from schemas import Rejection, decode
from schemas.fields import BreachKind, values


def seed():
    return simulate.load(simulate.find("zhangzhou-2026"))


@cache
def outcome():
    items = simulate.timeline(seed())
    records = simulate.as_records(items, "inspections.events", 8)
    records.sort(key=lambda r: (r.partition, r.offset))
    pipeline = Pipeline(Settings()).run(records)
    return pipeline.derived_by_topic(), pipeline.views()


def test_the_seed_has_its_16_units_in_two_batches_with_four_teams_of_about_eight():
    plan = seed()
    assert len(plan.units) == 16 and len(plan.visits) == 16
    assert Counter(u.kind for u in plan.units) == {"county": 11, "zone": 5}
    assert {v.batch for v in plan.visits} == {1, 2}
    assert {(v.planned_start.isoformat(), v.planned_end.isoformat())
            for v in plan.visits if v.phase == 1} <= {("2026-04-18", "2026-04-28"),
                                                      ("2026-04-18", "2026-04-24")}
    assert len(plan.teams) == 4 and all(6 <= t.size <= 10 for t in plan.teams)


def test_expansion_is_reproducible_and_every_event_passes_the_gate():
    first, again = simulate.expand(seed()), simulate.expand(seed())
    assert first == again
    assert len({e["id"] for e in first}) == len(first)
    for event in first:
        key = None if event["type"] in BROADCAST else event["subject"].encode()
        checked = decode(simulate.record(event), key=key)
        assert not isinstance(checked, Rejection), (event["id"], checked)
    times = [e["time"] for e in first]
    assert times == sorted(times, key=lambda t: __import__("datetime").datetime.fromisoformat(t))
    types = Counter(e["type"] for e in first)
    assert types["finding.recorded"] > 100 and types["spot_check.conducted"] > 0
    assert {"feedback.delivered", "rectification.report.submitted", "finding.rectified",
            "escalation.acknowledged", "escalation.resolved", "enforcement.document.issued",
            "immediate.measures.taken", "site.inspected"} <= set(types)
    assert types["policy.adopted"] == 1  # the city's policy changed before the second batch


def test_a_tick_every_midnight_until_the_end():
    plan = seed()
    items = simulate.timeline(plan)
    ticks = [t for t, e in items if e is None]
    assert ticks[-1] == plan.until
    assert all((b - a).days == 1 for a, b in zip(ticks[:-2], ticks[1:-1]))
    assert items[-1] == (plan.until, None)


def test_every_kind_of_breach_occurs_at_least_once():
    derived, _ = outcome()
    kinds = Counter(b["data"]["kind"] for b in derived["inspections.breaches"])
    assert set(kinds) == set(values(BreachKind))


def test_every_escalation_path_occurs_at_least_once():
    _, views = outcome()
    escalations = list(views["escalations"].values())
    closing = {(e["action"], e["history"][-1]["what"], e["level"]) for e in escalations
               if e["status"] == "closed"}
    assert ("issue_enforcement_document", "closed", 1) in closing      # document in time
    assert ("take_immediate_measures", "closed", 2) in closing         # measures after a miss
    assert ("report_major_hazard", "acknowledged", 1) in closing       # acknowledged in time
    assert ("transfer_for_investigation", "resolved", 1) in closing    # resolved
    assert ("request_instructions", "acknowledged", 2) in closing      # acked after a level-up
    assert any(e["status"] == "missed_at_top" and e["authority"] == "city_government"
               for e in escalations)
    notes = [s["note"] for e in escalations for s in e["history"]]
    assert "does not close it before a level-up" in notes              # an early ack
    assert {e["action"] for e in escalations} >= {"recommend_listed_supervision",
                                                   "report_misconduct_clue"}


def test_the_campaign_misses_one_unit_and_some_reports_are_late():
    _, views = outcome()
    campaign = views["campaigns"]["zhangzhou-2026"]
    assert campaign["units_inspected"] == 15 and campaign["units_missing"] == ["dongshan"]
    late = [v for u in campaign["units"] for v in u["visits"] if v["report_on_time"] is False]
    assert late


def test_paced_waits_for_simulated_time():
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat("2026-04-01T00:00:00+08:00")
    items = [(t0 + timedelta(days=d), None) for d in (0, 1, 3)]
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    list(simulate.paced(items, days_per_second=2, sleep=sleep, clock=lambda: now[0]))
    assert slept == [0.5, 1.0]  # day 1 at 0.5 s, day 3 at 1.5 s
    slept.clear()
    list(simulate.paced(items, days_per_second=0, sleep=sleep, clock=lambda: now[0]))
    assert slept == []


@pytest.mark.parametrize("change, said", [
    ({"units": [{"id": "x", "name": "X", "pinyin": "X", "kind": "city",
                 "townships": 1, "departments": 1}]}, "units.0.kind"),
    ({"visits": [{"unit": "nowhere", "team": "team-1", "batch": 1,
                  "planned_start": "2026-04-18", "planned_end": "2026-04-28"}]},
     "unknown unit 'nowhere'"),
    ({"until": "tomorrow"}, "until"),
])
def test_a_bad_scenario_says_where(tmp_path, change, said):
    import yaml

    raw = yaml.safe_load(simulate.find("zhangzhou-2026").read_text())
    raw.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(simulate.ScenarioError, match=said.replace("'", ".")):
        simulate.load(path)

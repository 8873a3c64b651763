"""What is due, live: two workers of the scheduler and of the escalation service share the
partitions while a short campaign runs to mid-April; each service's ``/due``, asked of either
worker, gathers both workers' obligations; ``inspections due --json`` and the operator page
equal what a replay of the same log lists; bad filters are refused naming what is wrong."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import yaml

from tests.conftest import free_port
from tests.faults.harness import Stack, holding

SCENARIO = {
    "name": "due-test",
    "seed": 11,
    "campaign": {"id": "due-2026", "year": 2026, "title": "待办测试 due test",
                 "coverage_due": "2026-12-31", "planned_at": "2026-04-01T10:00:00+08:00"},
    "units": [
        {"id": "changtai", "name": "长泰县", "pinyin": "Changtai", "kind": "county",
         "townships": 9, "departments": 24},
        {"id": "taishang", "name": "台商投资区", "pinyin": "Taishang", "kind": "zone",
         "townships": 3, "departments": 12},
        {"id": "pinghe", "name": "平和县", "pinyin": "Pinghe", "kind": "county",
         "townships": 10, "departments": 20},
    ],
    "teams": [{"id": "team-1", "size": 8}, {"id": "team-2", "size": 8}],
    "visits": [
        {"unit": "changtai", "team": "team-1", "batch": 1, "phase": 1,
         "planned_start": "2026-04-18", "planned_end": "2026-04-28",
         "findings": {"general": 2, "violation": 2, "major_hazard": 1},
         "special": [{"category": c, "never_answered": True}
                     for c in ("violation", "major_hazard", "major_issue", "accountability",
                               "misconduct_clue", "violation")]},
        {"unit": "taishang", "team": "team-2", "batch": 1, "phase": 1,
         "planned_start": "2026-04-01", "planned_end": "2026-04-07",
         "feedback_after_days": 3, "report_after_days": None, "findings": {"general": 1}},
    ],
    "until": "2026-04-24T12:00:00+08:00",
}


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_what_is_due_from_two_workers_a_service_equals_the_replay(kafka, deployment,
                                                                   tmp_path):
    from inspections.asking.due import from_memory
    from inspections.audit.replay import Pipeline
    from runtime.config import topics
    from runtime.config.settings import Settings
    from runtime.plumbing.kafka import stream_log

    stack = Stack(deployment)
    for service in ("scheduler", "findings", "escalation"):
        stack.start(service)
    second = {s: stack.start(s, port=free_port()) for s in ("scheduler", "escalation")}
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)
    stack.wait_ready()
    # Each of the two holds partitions once the group settles (asked again while a worker
    # answers 503: rebalancing).
    holding(stack)
    scenario = tmp_path / "due.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
    kafka.cli("simulate", str(scenario), "--speed", "0")
    stack.settle()

    settings = Settings(bootstrap_servers=kafka.bootstrap, topic_prefix=deployment.prefix)
    replayed = Pipeline(settings).run(stream_log(settings, topics.name(settings,
                                                                       topics.EVENTS)))
    expected = from_memory(replayed.memory, settings)
    kinds = {d["kind"] for d in expected["due"]}
    # (Taishang's report, never sent, owes a status report to the city government from its
    # due time.)
    assert kinds == {"escalation", "days_on_site", "rectification_report",
                     "campaign_coverage", "status_report"}, kinds

    live = json.loads(kafka.cli("due", "--json").stdout)
    assert live == expected
    # Either worker of a service gathers the same whole answer.
    for service, worker in second.items():
        status, answer = _get(f"http://127.0.0.1:{worker.port}/due")
        assert status == 200
        assert [{**d, "service": service} for d in answer["due"]] == \
            [d for d in expected["due"] if d["service"] == service]
        assert answer["as_of"] == expected["as_of"][service]

    # Filters, the same live and replayed.
    for filters in ({"kind": "escalation"}, {"unit": "changtai"},
                    {"authority": "unit_government"}, {"due_within": "36h"}):
        args = [a for k, v in filters.items() for a in (f"--{k}".replace("due_within",
                                                                         "within"), v)]
        assert json.loads(kafka.cli("due", "--json", *args).stdout) == \
            from_memory(replayed.memory, settings, **filters), filters
    soon = from_memory(replayed.memory, settings, due_within="36h")["due"]
    assert 0 < len(soon) < len(expected["due"])
    assert all(d["remaining_s"] <= 36 * 3600 for d in soon)

    # The operator page: the list, its JSON, and the due-soon board.
    base = f"http://127.0.0.1:{int(kafka.vars['INSPECTIONS_WEB_PORT_BASE']) + 3}"
    assert _get(f"{base}/due.json") == (200, expected)
    html = urllib.request.urlopen(f"{base}/due?kind=rectification_report").read().decode()
    report = next(d for d in expected["due"] if d["kind"] == "rectification_report")
    assert f'data-subject="{report["subject_id"]}"' in html
    assert 'data-kind="escalation"' not in html
    board = urllib.request.urlopen(f"{base}/").read().decode()
    within = from_memory(replayed.memory, settings, due_within="48h")["due"]
    due_soon = board.split('id="due"')[1].split("</table>")[0]
    assert due_soon.count("data-kind=") == sum(d["remaining_s"] >= 0 for d in within) > 0
    overdue = board.split('id="overdue"')[1].split("</table>")[0]
    assert overdue.count("data-kind=") == sum(d["remaining_s"] < 0 for d in within)

    _status_agrees(kafka, settings, expected)
    _json_answers(kafka, tmp_path)

    # Bad filters: refused, naming what is wrong, by the service, the page and the command.
    status, answer = _get(f"http://127.0.0.1:{second['escalation'].port}/due?due_within=2x")
    assert status == 400 and "a number and a unit" in answer["error"]
    status, answer = _get(f"{base}/due.json?kind=visits")
    assert status == 400 and "kind must be one of" in answer["error"]
    refused = kafka.cli("due", "--within", "soon", check=False)
    assert refused.returncode == 2 and "a number and a unit" in refused.stderr


def _status_agrees(kafka, settings, expected):
    """`inspections status --json` with every worker up: healthy, two workers in the groups
    that have two, nothing behind, a stream time on every partition, the obligations."""
    from collections import Counter

    status = json.loads(kafka.cli("status", "--json").stdout)
    assert status["healthy"] is True, status
    assert status["members"] == {"scheduler": 2, "findings": 1, "escalation": 2}
    assert all(w["ready"] for w in status["workers"].values())
    assert all(n == 0 for lags in status["lag"].values() for n in lags.values())
    assert len(status["lag"]["scheduler"]) == settings.partitions + 1  # and its crossings
    for service, times in status["stream_time"].items():
        assert len(times) == settings.partitions
        assert max(t for t in times.values() if t) == expected["as_of"][service]
    assert status["due"]["open"] == dict(Counter(d["kind"] for d in expected["due"]))
    assert status["rejected_last_hour"]["total"] == 0
    text = kafka.cli("status").stdout
    assert "healthy" in text and "open obligations: campaign_coverage 2" in text


def _json_answers(kafka, tmp_path):
    """`--json` on replay, topics create and broker status."""
    replayed = json.loads(kafka.cli("replay", "--out", str(tmp_path / "replay"),
                                    "--json").stdout)
    assert replayed["records"] == replayed["log_records"] > 0
    assert replayed["views"]["campaigns"] == 1
    created = json.loads(kafka.cli("topics", "create", "--json").stdout)
    assert {t["action"] for t in created["topics"]} == {"exists"}
    home, kafka.vars["INSPECTIONS_HOME"] = kafka.vars["INSPECTIONS_HOME"], str(kafka.home)
    try:  # the suite's broker keeps its files in the suite's home
        broker = json.loads(kafka.cli("broker", "status", "--json").stdout)
    finally:
        kafka.vars["INSPECTIONS_HOME"] = home
    assert broker["ready"] is True and broker["running"] is True

"""What operators get: the alert rules (checked and unit-tested by promtool), the dashboard's
and the rules' queries against what the workers export, the lag, readiness, log context."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from types import SimpleNamespace

import pytest
import yaml

from runtime.faust_runner.observe import lag_by_partition
from tests.conftest import REPO

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "inspections.json"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make test` installs it (scripts/system-packages)"
    return subprocess.run([tool, *args], cwd=PROMETHEUS, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args", [("check", "config", "prometheus.yml"),
                                  ("check", "rules", "alerts.yml"),
                                  ("test", "rules", "alerts.test.yml")])
def test_promtool_accepts_the_config_and_the_rules_pass_their_tests(args):
    done = promtool(*args)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_unit_test():
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())
    tested = {t["alertname"] for case in tests["tests"] for t in case["alert_rule_test"]
              if t.get("exp_alerts")}
    assert alerts == tested


def _exported(tmp_path) -> set[str]:
    """Sample names the three apps export, whether or not a series exists yet."""
    import services
    from kernel.vocabulary import SERVICES
    from runtime.config.settings import Settings

    settings = Settings(home=tmp_path)
    for service in SERVICES:
        services.create_app(service, settings)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",), "summary": ("_sum", "_count", "")}
    names = {"up"}  # Prometheus's own, per target
    from prometheus_client import REGISTRY

    for family in REGISTRY.collect():
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


PROMQL_WORDS = {"sum", "max", "by", "rate", "increase", "histogram_quantile", "le"}


def _metric_names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"by \([^)]*\)", "", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {w for w in words if w not in PROMQL_WORDS}


def test_the_dashboard_and_the_alerts_query_only_metrics_the_workers_export(tmp_path):
    exported = _exported(tmp_path)
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in _metric_names(target["expr"])}
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    queried |= {name for g in rules["groups"] for r in g["rules"]
                for name in _metric_names(r["expr"])}
    assert queried - exported == set()
    # The panels are all there.
    for needed in ("inspections_events_processed_total", "inspections_consumer_lag_records",
                   "inspections_escalations_open", "inspections_breaches_total",
                   "inspections_campaign_coverage_ratio"):
        assert needed in queried


def test_faust_sensor_metrics_are_named_by_service(tmp_path):
    exported = _exported(tmp_path)
    for service in ("scheduler", "findings", "escalation"):
        assert f"faust_{service}_messages_received_total" in exported


def test_lag_is_the_end_minus_the_next_offset_to_process():
    ends = {("ev", 0): 10, ("ev", 1): 7, ("ev", 2): 5, ("ev", 3): None}
    processed = {("ev", 0): 7}
    committed = {("ev", 0): 2, ("ev", 1): 4}
    assert lag_by_partition(ends, processed, committed) == {
        ("ev", 0): 3,   # what this worker finished wins over the older commit
        ("ev", 1): 3,   # nothing finished yet: from the committed offset
        ("ev", 2): 5,   # never committed: from the start
    }
    assert lag_by_partition({("ev", 0): 4}, {("ev", 0): 9}, {}) == {("ev", 0): 0}
    # Finished here long ago, committed since by another worker: the commit is where it is.
    assert lag_by_partition({("ev", 0): 10}, {("ev", 0): 3}, {("ev", 0): 8}) == {("ev", 0): 2}


def _observer(rebalancing=False, generation=3, recovered=True):
    from runtime.faust_runner.observe import Observer

    completed = asyncio.Event()
    if recovered:
        completed.set()
    app = SimpleNamespace(rebalancing=rebalancing, consumer_generation_id=generation,
                          tables=SimpleNamespace(recovery=SimpleNamespace(completed=completed)))
    observer = Observer.__new__(Observer)
    observer.app = app
    return observer


def test_ready_only_in_the_group_with_tables_recovered():
    assert _observer().ready() is None
    assert "joining" in _observer(generation=0).ready()
    assert "joining" in _observer(rebalancing=True).ready()
    assert "recovering" in _observer(recovered=False).ready()


def test_faust_metrics_are_the_same_counted_a_batch_at_a_time():
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
    from faust.types import TP
    from prometheus_client import CollectorRegistry

    from runtime.faust_runner.observe import _monitor_class

    class Stream(SimpleNamespace):
        __hash__ = object.__hash__

    owners = [Stream(name=f"task-{i}") for i in (1, 2)]  # weakly referenced by faust
    streams = [Stream(shortlabel=f"Stream: agent_{i}", task_owner=owners[i - 1]) for i in (1, 2)]
    tables = [SimpleNamespace(name=n) for n in ("units", "seen-ids")]

    def drive(monitor) -> None:
        """Three batches of ten records, each of one stream (as an agent takes them)."""
        for first in (0, 10, 20):
            stream = streams[first // 10 % 2]
            for n in range(first, first + 10):
                tp = TP("events", n % 3)
                message = SimpleNamespace(time_in=None)
                monitor.on_message_in(tp, n, message)
                state = monitor.on_stream_event_in(tp, n, stream, None)
                getattr(monitor, ("on_table_get", "on_table_set", "on_table_del")[n % 3])(
                    tables[n % 2], b"k", *((b"v",) if n % 3 == 1 else ()))
                monitor.on_send_initiated(None, ("breaches", "rejected")[n % 2], None, 1, 2)
                monitor.on_stream_event_out(tp, n, stream, None, state)
                monitor.on_message_out(tp, n, message)
            if hasattr(monitor, "batch"):  # ours: told once a batch
                last = {p: max(n for n in range(first, first + 10) if n % 3 == p)
                        for p in range(3)}
                monitor.batch("events", last, 10, monitor._stream_label(stream), 0.01)

    def samples(registry) -> dict:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for metric in registry.collect() for s in metric.samples
                if not s.name.endswith("_created") and "latency" not in s.name
                and "runtime" not in s.name}  # times vary, and ours are a batch's

    faust_registry, ours_registry = CollectorRegistry(), CollectorRegistry()
    faust_monitor = PrometheusMonitor(metrics=FaustMetrics.create(faust_registry, "f"))
    ours = _monitor_class()(metrics=FaustMetrics.create(ours_registry, "f"))
    drive(faust_monitor)
    drive(ours)
    expected = samples(faust_registry)
    assert any(name == "f_messages_received_per_topic_total" for name, _ in expected)
    assert expected[("f_messages_received_total", ())] == 30
    assert samples(ours_registry) == expected
    assert ours.messages_received_total == faust_monitor.messages_received_total == 30
    assert ours.events_total == faust_monitor.events_total == 30
    assert {n: t.keys_updated for n, t in ours.tables.items()} == {
        n: t.keys_updated for n, t in faust_monitor.tables.items()}
    runtime = [s for m in ours_registry.collect() for s in m.samples
               if s.name == "f_events_runtime_ms_count"]
    assert [s.value for s in runtime] == [3]  # once a batch
    # faust's stall check reads when each partition was last taken: a batch sets it.
    assert {(tp.topic, tp.partition) for tp in ours.stream_inbound_time} == {
        ("events", p) for p in range(3)}


def test_amtool_accepts_the_alertmanager_config():
    import shutil
    import subprocess

    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: `make test` installs prometheus-alertmanager"
    done = subprocess.run([amtool, "check-config",
                           str(REPO / "deploy/alertmanager/alertmanager.yml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_stat_and_gauge_panels_aggregate_over_the_workers():
    """A stat shows one figure a business label, whatever worker reported it: every query is
    an aggregation by business labels only (never by instance), so a second worker, or one
    that held a partition before a rebalance, adds no series of its own."""
    dashboard = json.loads(DASHBOARD.read_text())
    shown = [p for p in dashboard["panels"] if p["type"] in ("stat", "gauge")]
    assert {p["title"].split(" ", 1)[1] for p in shown} >= {
        "Coverage (units inspected in time)", "Open escalations by level",
        "Breaches by kind (dashboard range)"}
    for panel in shown:
        for target in panel["targets"]:
            found = re.match(r"^(sum|max) *(by \(([a-z_, ]+)\))? *\(", target["expr"])
            assert found, target["expr"]
            labels = {x.strip() for x in (found.group(3) or "").split(",") if x.strip()}
            assert labels <= {"level", "kind", "campaign", "authority"}, target["expr"]


ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"


def _route(**labels: str) -> str:
    """The receiver Alertmanager's routes give an alert with ``labels`` (amtool's answer)."""
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: `make test` installs prometheus-alertmanager"
    done = subprocess.run([amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                           *(f"{k}={v}" for k, v in labels.items())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_a_breach_has_one_source_notify_and_prometheus_only_counts_them():
    """Each breach was notified twice: by a Prometheus rule and by notify. Now no rule is
    named as notify's alert, and no rule fires on a single breach."""
    from inspections.alerting.notify import ALERT

    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    named = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert ALERT not in named
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "inspections_breaches_total" in rule["expr"]:
                threshold = float(rule["expr"].rsplit(">", 1)[1])
                assert threshold >= 10, rule["alert"]  # a surge, never one breach


def test_breaches_go_to_a_receiver_that_sends_no_resolved_and_states_to_one_that_does():
    """A breach's alert ends when its hold ends; nobody resolved anything, so the receiver
    of breaches must not say "resolved". The states Prometheus watches do resolve."""
    from runtime.config.settings import Settings

    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {r["name"]: r["webhook_configs"] for r in config["receivers"]}
    for severity, authority in (("warning", "city_safety_committee"),
                                ("critical", "city_government"), ("warning", "")):
        name = _route(alertname="DeadlineBreached", severity=severity, authority=authority,
                      unit="changtai", escalation_id="F1:issue_enforcement_document")
        assert [hook["send_resolved"] for hook in receivers[name]] == [False], name
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = _route(alertname=rule["alert"], **rule["labels"])
            assert all(hook["send_resolved"] for hook in receivers[name]), rule["alert"]
    # Sent once: the breaches' route repeats only after the longest hold notify may use.
    [route] = [r for r in config["route"]["routes"]
               if r["matchers"] == ['alertname="DeadlineBreached"']]
    hours = int(route["repeat_interval"].removesuffix("h"))
    most = next(m.le for m in Settings.model_fields["alert_hold_s"].metadata
                if getattr(m, "le", None) is not None)
    assert hours * 3600 > most


def test_a_miss_at_the_top_is_notified_by_its_breach_not_twice():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    assert {"source_matchers": ['alertname="DeadlineBreached"', 'severity="critical"'],
            "target_matchers": ['alertname="EscalationMissedAtTop"'],
            "equal": ["authority"]} in config["inhibit_rules"]


def test_alertmanager_sends_the_receivers_token_and_compose_gives_both_the_same_secret():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    receiver = compose["services"]["alert-receiver"]
    command = receiver["command"]
    token_file = command[command.index("--token-file") + 1]
    path = command[command.index("--path") + 1]
    config = yaml.safe_load(ALERTMANAGER.read_text())
    hooks = [hook for r in config["receivers"] for hook in r["webhook_configs"]]
    assert hooks
    for hook in hooks:
        assert hook["http_config"]["authorization"]["credentials_file"] == token_file
        assert hook["http_config"]["authorization"].get("type", "Bearer") == "Bearer"
        assert hook["url"].endswith(f":5001{path}")
    [secret] = [name for name in compose["secrets"] if token_file == f"/run/secrets/{name}"]
    assert secret in receiver["secrets"]
    assert secret in compose["services"]["alertmanager"]["secrets"]
    assert "--allow-open" not in command

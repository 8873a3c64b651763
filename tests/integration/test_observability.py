"""Operators' view on the real broker: a real Prometheus (Debian's) scrapes the three running
workers on loopback and evaluates the repository's alert rules; the metric table in docs/operations.md,
the health pages and the log lines are checked against the same running workers."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import yaml

from tests.conftest import REPO, free_port
from tests.examples import event
from tests.integration.kafka_io import produce

SERVICES = ("scheduler", "findings", "escalation")
T0 = datetime.fromisoformat("2026-04-20T10:00:00+08:00")


def _get(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        body = answer.read()
    return body.decode() if url.endswith("/metrics") else json.loads(body)


def _ports(kafka) -> dict[str, int]:
    base = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
    return {service: base + i for i, service in enumerate(SERVICES)}


def _scenario() -> list[dict]:
    """A visit whose team is too small (a breach at its start), a finding that goes to the
    local regulator and, once a month passes, up the chain to its top and past it."""
    def at(hours: float) -> str:
        return (T0 + timedelta(hours=hours)).isoformat()

    return [
        event("campaign.planned", id="obs-1", time=at(0)),
        event("visit.scheduled", id="obs-2", time=at(1)),
        event("visit.started", id="obs-3", time=at(2)),
        event("finding.recorded", id="obs-4", time=at(3)),
    ]


class Prometheus:
    """Debian's prometheus on a free loopback port, scraping the workers every second with
    the repository's scrape config (targets moved to loopback) and alert rules."""

    def __init__(self, tmp_path, ports: dict[str, int]) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus is missing: `make test` installs it (scripts/system-packages)"
        config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config.pop("alerting", None)  # no Alertmanager here (tests/integration/test_alerts.py)
        config["rule_files"] = [str(REPO / "deploy/prometheus" / f)
                                for f in config["rule_files"]]
        for job in config["scrape_configs"]:  # each running worker's name: it, here
            job.pop("relabel_configs")
            names = [name for found in job.pop("dns_sd_configs") for name in found["names"]]
            assert set(ports) <= set(names)  # (the one of `run all` is not running here)
            job["static_configs"] = [
                {"targets": [f"127.0.0.1:{ports[name]}"], "labels": {"service": name}}
                for name in names if name in ports]
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda: self._ready(), "Prometheus ready", 60)

    def _ready(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}/-/ready", timeout=2)
            return True
        except OSError:
            return False

    def query(self, expr: str) -> list[dict]:
        q = urllib.parse.urlencode({"query": expr})
        return _get(f"{self.url}/api/v1/query?{q}")["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self, name: str) -> list[dict]:
        return [a for a in _get(f"{self.url}/api/v1/alerts")["data"]["alerts"]
                if a["labels"]["alertname"] == name]

    @staticmethod
    def wait(condition, what: str, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = condition()
            if got:
                return got
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _readme_metrics() -> set[str]:
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## Monitoring", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(inspections_[a-z_]+)` \|", section, re.M))


def _exported(metrics_text: str) -> set[str]:
    """Metric names as a scraper sees them (counters with ``_total``, infos with ``_info``)."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", metrics_text, re.M):
        if kind == "counter" and not name.endswith("_total"):
            name += "_total"
        elif kind == "info":
            name += "_info"
        names.add(name)
    return names


def test_prometheus_sees_the_business_metrics_and_the_alerts_fire(deployment, kafka, tmp_path):
    kafka.vars["INSPECTIONS_METRICS_INTERVAL_S"] = "1"
    prometheus = None
    try:
        workers = {service: deployment.start(service) for service in SERVICES}
        for service in SERVICES:
            kafka.cli("ready", service, "--wait", "120")
        ports = _ports(kafka)
        for service, port in ports.items():
            assert _get(f"http://127.0.0.1:{port}/healthz")["status"] == "alive"
            ready = _get(f"http://127.0.0.1:{port}/readyz")
            assert ready["ready"] is True
            assert f"{deployment.topic('events')}:0" in ready["partitions"]
            # faust's own pages of raw state and routing are off: no public view.
            for path in ("/router/", "/table/state/", "/graph/", "/stats/", "/assignment/"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
                    raise AssertionError(f"{service} serves {path}")
                except urllib.error.HTTPError as exc:
                    assert exc.code == 404, (service, path, exc.code)

        # Every metric of the README's table is on a running worker, and nothing is missing
        # from the table; faust's own are there too, under the service's prefix.
        texts = {s: _get(f"http://127.0.0.1:{p}/metrics") for s, p in ports.items()}
        exported = set().union(*(_exported(t) for t in texts.values()))
        assert _readme_metrics() == {n for n in exported if n.startswith("inspections_")}
        for service, text in texts.items():
            assert f"faust_{service}_messages_received_total" in text

        prometheus = Prometheus(tmp_path, ports)
        prometheus.wait(lambda: prometheus.value('sum(up{job="inspections"})') == 3,
                        "all three workers scraped")

        deployment.publish(_scenario())
        produce(kafka.bootstrap, deployment.topic("events"), [(b"changtai", b"{not json")])
        kafka.cli("tick", "--at", (T0 + timedelta(days=30)).isoformat())

        breaches = 'sum(inspections_breaches_total{kind="team_composition_invalid"})'
        prometheus.wait(lambda: prometheus.value(breaches) == 1, "the team breach counted")
        prometheus.wait(lambda: prometheus.value("sum(inspections_escalations_missed_at_top)"),
                        "an escalation missed at the top")
        # The scheduler's campaign side runs behind its intake (it reads the progress topic):
        # on a loaded machine its gauges may be a scrape or two behind the escalation's.
        prometheus.wait(lambda: prometheus.value('sum(inspections_visits{state="on_site"})') == 1,
                        "the visit on site counted")
        prometheus.wait(lambda: prometheus.value(
            'inspections_campaign_coverage_ratio{campaign="zhangzhou-2026"}') == 0,
            "the campaign's coverage")
        prometheus.wait(lambda: prometheus.value(
            'sum(inspections_records_rejected_total{cause="not_json"})') == 1,
            "the record that is not JSON counted")
        prometheus.wait(
            lambda: prometheus.value('sum(inspections_events_processed_total'
                                     '{service="findings",type="clock.ticked"})') == 8,
            "findings processed the ticks")
        # Everything is processed: no lag left on any partition the workers read.
        prometheus.wait(lambda: prometheus.value(
            f'max(inspections_consumer_lag_records{{topic="{deployment.topic("events")}"}})'
        ) == 0, "no lag")
        assert len(prometheus.query(
            f'inspections_consumer_lag_records{{topic="{deployment.topic("events")}"}}')) == 24

        def firing(name: str, **labels) -> bool:
            return any(a["state"] == "firing" and labels.items() <= a["labels"].items()
                       for a in prometheus.alerts(name))

        # A breach is notified by `inspections notify`, one alert each (tests/integration/
        # test_alerts.py); the rules' BreachesSurge wants more than ten of a kind in an hour.
        prometheus.wait(lambda: firing("RecordsRejected", cause="not_json"),
                        "RecordsRejected firing")
        prometheus.wait(lambda: firing("EscalationMissedAtTop"), "EscalationMissedAtTop firing")
        assert not prometheus.alerts("WorkerDown")

        # A worker killed: Prometheus sees it down and the alert waits out its minute.
        workers["escalation"].send_signal(signal.SIGKILL)
        workers["escalation"].wait(timeout=30)
        prometheus.wait(lambda: any(a["labels"]["service"] == "escalation"
                                    and a["state"] == "pending"
                                    for a in prometheus.alerts("WorkerDown")),
                        "WorkerDown pending for the escalation worker")

        # The breach's log line says where it came from, as JSON.
        lines = [json.loads(line) for line in
                 (tmp_path / "scheduler-0.log").read_text().splitlines()
                 if line.startswith("{")]
        breach = next(line for line in lines if line.get("event") == "deadline breached")
        assert {"service": "scheduler", "event_id": "obs-3", "type": "visit.started",
                "unit": "changtai", "correlation_id": "visit-2026-changtai",
                "topic": deployment.topic("events")}.items() <= breach.items()
        assert isinstance(breach["partition"], int) and isinstance(breach["offset"], int)
    finally:
        kafka.vars.pop("INSPECTIONS_METRICS_INTERVAL_S", None)
        if prometheus is not None:
            prometheus.close()

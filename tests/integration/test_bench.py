"""`make bench` in its quick mode, on the suite's broker: every row of the table is measured
and written, so the benchmark cannot rot between the runs that take minutes."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.events import generate
from bench.report import READ_ONLY
from bench.suite import QUICK_EVENTS
from tests.conftest import REPO

ROWS = ("kafka-python loop", "aiokafka loop", READ_ONLY, "bare faust agent", "scheduler alone",
        "findings alone", "escalation alone", "pipeline", "run all", "cores in memory", "replay",
        "verify")


def test_the_quick_bench_measures_every_row(kafka, tmp_path):
    out = tmp_path / "bench.json"
    env = {**kafka.vars, "INSPECTIONS_BOOTSTRAP_SERVERS": kafka.bootstrap,
           "INSPECTIONS_HOME": str(tmp_path / "home")}
    env.pop("INSPECTIONS_TOPIC_PREFIX", None)
    env.pop("INSPECTIONS_MAX_TIME_AHEAD", None)  # the default span, as `make bench` runs
    done = subprocess.run([sys.executable, "-m", "bench.suite", "--quick", "--json", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    report = json.loads(out.read_text())
    # Every record of the quick run's events published and counted: each event once, each
    # day's tick on every partition (bench.suite.QUICK_EVENTS: the smallest run that
    # measures every row; the figures themselves are `make bench`'s).
    partitions = kafka.settings().partitions
    assert report["records"] == sum(partitions if key is None else 1
                                    for key, _ in generate(QUICK_EVENTS)) > QUICK_EVENTS
    for name in ROWS:
        row = report["rows"][name]
        assert row["events_per_s"] > 0 and row["ratio"] > 0, (name, row)
        assert f"| {name} |" in done.stdout
    ladders = [(report["rows"]["latency"], {"scheduler", "findings", "escalation"}),
               (report["rows"]["latency run all"], {"all"})]  # by the workers' names
    for ladder, workers in ladders:
        _check_ladder(ladder, workers, done.stdout)
    assert all(n > 0 for n in report["rows"]["pipeline"]["changelog_per_record"].values())
    assert all(n > 0 for n in report["rows"]["run all"]["changelog_per_record"].values())
    for deployment in ("pipeline", "run all"):
        for worker in report["rows"][deployment]["rss"].values():
            assert worker["samples"] > 0 and worker["median_mib"] > 50
    assert "one worker of every service (run all): finding.recorded sent" in done.stdout
    assert report["rows"]["cores in memory"]["rejected"] == 0  # each record measured whole
    # Verify ran over what the pipeline emitted: the derived topics match the log.
    assert report["rows"]["verify"]["result"] == "every derived event matches the rules"
    # The run cleaned up after itself.
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        left = [t for t in admin.list_topics() if t.startswith(report["prefix"])]
    finally:
        admin.close()
    assert left == [] and "deleted the run's" in done.stderr


def test_the_cpu_a_worker_spends_on_a_record(kafka):
    env = {**kafka.vars, "INSPECTIONS_BOOTSTRAP_SERVERS": kafka.bootstrap}
    env.pop("INSPECTIONS_TOPIC_PREFIX", None)
    done = subprocess.run([sys.executable, "-m", "bench.cpu", "findings", "2000"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    line = done.stdout.strip().splitlines()[-1]
    records, micros = line.split(": ", 1)[1].split(" records, ")
    assert int(records) > 2000  # the ticks go to every partition
    assert int(micros.split(" µs")[0]) > 0, line


def _check_ladder(ladder: list[dict], workers: set[str], said: str) -> None:
    assert [lat["offered_per_s"] for lat in ladder] == [10, 100]  # the quick mode's rates
    for latency in ladder:
        assert latency["escalations"] == latency["findings"] > 0  # every finding came back
        assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
        assert latency["sent_per_s"] > 0.8 * latency["offered_per_s"]
        # Each finding raised an escalation: its state was written, and the findings' too.
        assert latency["changelog_per_finding"]["escalation"] >= 1
        assert latency["changelog_per_finding"]["findings"] >= 1
        assert set(latency["batch_records"]) == workers
        assert all(n >= 1 for n in latency["batch_records"].values())  # read from /metrics
        assert f"| {latency['offered_per_s']:g} | {latency['sent_per_s']:g} |" in said

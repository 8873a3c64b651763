"""The local broker's life cycle, on real processes."""

from __future__ import annotations

import subprocess

import pytest

from inspections.localkafka import broker_processes
from tests.conftest import CLI, REPO
from tests.integration.kafka_io import produce, read_all


def test_records_survive_a_stop_and_a_start(own_broker):
    own_broker.cli("broker", "start")
    own_broker.cli("topics", "create")
    sent = [(f"unit-{i}".encode(), f"record {i}".encode()) for i in range(20)]
    produce(own_broker.bootstrap, "inspections.events", sent)
    before = read_all(own_broker.bootstrap, "inspections.events")
    assert sorted(r.value for r in before) == sorted(v for _, v in sent)

    stopped = own_broker.cli("broker", "stop")
    assert stopped.stdout.strip() == "stopped"
    assert broker_processes(own_broker.settings().broker_dir) == []

    own_broker.cli("broker", "start")
    after = read_all(own_broker.bootstrap, "inspections.events")
    key = lambda r: (r.partition, r.offset)  # noqa: E731
    assert [(r.partition, r.offset, r.key, r.value) for r in sorted(after, key=key)] == [
        (r.partition, r.offset, r.key, r.value) for r in sorted(before, key=key)
    ]


def test_start_twice_leaves_one_broker_and_stop_leaves_none(own_broker):
    # Two starts at once, then a third: one broker process in the end.
    racing = [
        subprocess.Popen([*CLI, "broker", "start"], env=own_broker.vars, cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in racing]
    assert [p.returncode for p in racing] == [0, 0], outputs
    again = own_broker.cli("broker", "start")
    assert "already running" in again.stderr
    pids = broker_processes(own_broker.settings().broker_dir)
    assert len(pids) == 1
    status = own_broker.cli("broker", "status")
    assert f"pid {pids[0]}" in status.stdout and "ready" in status.stdout

    own_broker.cli("broker", "stop")
    assert broker_processes(own_broker.settings().broker_dir) == []
    after = own_broker.cli("broker", "status", check=False)
    assert after.returncode == 3 and after.stdout.startswith("stopped")
    assert own_broker.cli("broker", "stop").stdout.strip() == "not running"


@pytest.mark.parametrize(
    ("variable", "says"),
    [
        ("INSPECTIONS_JAVA", "Java not found"),
        ("INSPECTIONS_MVN", "Maven not found"),
    ],
)
def test_a_missing_tool_says_what_to_install(tmp_path, own_broker, variable, says):
    own_broker.vars["INSPECTIONS_HOME"] = str(tmp_path)  # nothing resolved or cached here
    own_broker.vars[variable] = "/nonexistent/tool"
    done = own_broker.cli("broker", "start", check=False)
    assert done.returncode == 1
    assert says in done.stderr
    assert "apt-get install" in done.stderr
    assert broker_processes(own_broker.settings().broker_dir) == []


def test_a_taken_port_is_refused_with_a_way_out(kafka, own_broker, tmp_path):
    # Another installation (its own home) asking for the port the suite's broker holds.
    own_broker.vars["INSPECTIONS_HOME"] = str(tmp_path)
    own_broker.vars["INSPECTIONS_BROKER_PORT"] = str(kafka.port)
    own_broker.vars["INSPECTIONS_CONTROLLER_PORT"] = str(own_broker.port + 1)
    done = own_broker.cli("broker", "start", check=False)
    assert done.returncode == 1
    assert f"127.0.0.1:{kafka.port} is taken" in done.stderr
    assert "INSPECTIONS_BOOTSTRAP_SERVERS" in done.stderr

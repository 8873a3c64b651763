"""Shared fixtures. The suite starts one real broker of its own (its own home and ports) for
the whole session and stops it at the end, whatever happens."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "inspections.cli"]
FIGURES: dict[str, str] = {}  # printed at the end of the run


def free_port(count: int = 1) -> int:
    """A port p with p .. p+count-1 all free on loopback (broker and controller side by side),
    below the ephemeral range: a client reconnecting to a stopped broker's port from an
    ephemeral one can connect to itself and hold that port."""
    import random

    for _ in range(500):
        base = random.randrange(20000, 32000 - count)
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


def _apart(taken: int, taken_count: int, count: int) -> int:
    """Free ports for the workers and the page that are none of the broker's (free too until
    it starts)."""
    while True:
        base = free_port(count)
        if base + count <= taken or base >= taken + taken_count:
            return base


class Env:
    """Environment variables for one broker (and the workers and tools that use it)."""

    def __init__(self, home: Path, port: int, web_port_base: int | None = None,
                 nodes: int = 1) -> None:
        self.home = home
        self.port = port
        self.vars = {
            **os.environ,
            "INSPECTIONS_HOME": str(home),
            "INSPECTIONS_BROKER_PORT": str(port),
            "INSPECTIONS_CONTROLLER_PORT": str(port + 1),
            "INSPECTIONS_BROKER_NODES": str(nodes),
            "INSPECTIONS_WEB_PORT_BASE": str(web_port_base or _apart(port, 2 * nodes, 6)),
            "INSPECTIONS_LOG_FORMAT": "json",
            # The tests publish whole scenarios at once, 2027's ticks among them, whenever
            # they run: the setting for a deployment that replays a year at once. The
            # bad-input fault test (tests/faults/test_bad_input.py) runs with the default.
            "INSPECTIONS_MAX_TIME_AHEAD": "36525d",
        }
        self.vars.pop("INSPECTIONS_BOOTSTRAP_SERVERS", None)

    @property
    def nodes(self) -> int:
        return int(self.vars.get("INSPECTIONS_BROKER_NODES", "1"))

    @property
    def bootstrap(self) -> str:
        return self.settings().bootstrap

    def settings(self):
        from runtime.config.settings import Settings

        return Settings(home=self.home, broker_port=self.port, controller_port=self.port + 1,
                        broker_nodes=self.nodes)

    def cli(self, *args: str, timeout: float = 180, check: bool = True, **kw):
        done = subprocess.run(
            [*CLI, *args], env=self.vars, cwd=REPO, capture_output=True, text=True,
            timeout=timeout, **kw,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"inspections {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def stop_broker(self) -> None:
        """End this env's local broker once its fixture is done with it: SIGKILL to each of
        its processes, then wait until they are gone. Nothing reads its data afterwards (a
        folder of the run's own), and a graceful stop of a broker holding every test's
        topics took up to 10 s for nothing; `inspections broker stop` itself is tested in
        tests/integration/test_broker.py and test_crashes.py."""
        from inspections.localkafka import broker_processes
        from inspections.localkafka.processes import alive

        pids = broker_processes(self.settings().broker_dir)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # gone meanwhile
                os.kill(pid, 9)
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)

    def spawn(self, *args: str, log: Path) -> subprocess.Popen:
        handle = open(log, "ab")
        return subprocess.Popen([*CLI, *args], env=self.vars, cwd=REPO, stdout=handle,
                                stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def kafka_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def kafka(kafka_home) -> Env:
    """The suite's broker, with the project's topics."""
    env = Env(kafka_home, free_port(2))
    started = time.monotonic()
    try:
        env.cli("broker", "start")
        FIGURES["suite broker ready after"] = f"{time.monotonic() - started:.1f} s"
        env.cli("topics", "create")
        yield env
    finally:
        env.stop_broker()


@pytest.fixture
def own_broker(kafka_home):
    """A second broker for tests that stop and start it; stopped afterwards in any case."""
    env = Env(kafka_home, free_port(2))
    yield env
    env.stop_broker()



def pytest_terminal_summary(terminalreporter):
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")


class Deployment:
    """A deployment of its own on the suite's broker: its own topic prefix (so its own topics,
    consumer groups and stream time), its own state folder, its workers; no clock publisher,
    so that time is what the test publishes."""

    def __init__(self, kafka: Env, tmp_path: Path) -> None:
        import uuid

        self.kafka = kafka
        self.tmp_path = tmp_path
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.workers: list[subprocess.Popen] = []
        # No clock publisher, and no starting policy adopted into the log (time and the log
        # are what the test publishes; tests/integration/test_policy_log.py adopts).
        kafka.vars.update(INSPECTIONS_TOPIC_PREFIX=self.prefix,
                          INSPECTIONS_CLOCK_INTERVAL_S="0",
                          INSPECTIONS_ADOPT_STARTING_POLICY="0",
                          INSPECTIONS_HOME=str(tmp_path / "home"))
        kafka.cli("topics", "create")

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def start(self, service: str) -> subprocess.Popen:
        log = self.tmp_path / f"{service}-{len(self.workers)}.log"
        proc = self.kafka.spawn("run", service, log=log)
        self.workers.append(proc)
        return proc

    def publish(self, events: list[dict], name: str = "events.jsonl") -> None:
        import json

        path = self.tmp_path / name
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
        self.kafka.cli("publish", str(path))

    def close(self, kill: bool = False) -> None:
        """Stop what the test started: gracefully (SIGTERM), or with ``kill`` at once
        (SIGKILL) when nothing afterwards reads what they would write while stopping."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(9 if kill else 15)
        for proc in self.workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for key in ("INSPECTIONS_TOPIC_PREFIX", "INSPECTIONS_CLOCK_INTERVAL_S",
                    "INSPECTIONS_ADOPT_STARTING_POLICY"):
            self.kafka.vars.pop(key, None)
        self.kafka.vars["INSPECTIONS_HOME"] = str(self.kafka.home)


@pytest.fixture
def quick_takeover(kafka):
    """Workers started in the test hand a killed (kill -9) worker's partitions on after 10 s,
    as the fault harness's do (tests/faults/harness.py), not after the default 30 s: a test
    that restarts a killed worker waits that long for its group to let the new one in."""
    kafka.vars["INSPECTIONS_GROUP_SESSION_TIMEOUT_S"] = "10"
    yield
    kafka.vars.pop("INSPECTIONS_GROUP_SESSION_TIMEOUT_S", None)


@pytest.fixture
def deployment(kafka, tmp_path):
    d = Deployment(kafka, tmp_path)
    try:
        yield d
    finally:
        # Killed: the test is over and its topics, groups and state are its own (a graceful
        # stop of faust's workers took 2-4 s a test; SIGTERM stops are tested where they
        # matter, tests/faults/test_stopping.py and the tests that stop a worker themselves).
        d.close(kill=True)

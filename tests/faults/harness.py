"""What every fault test does: run the seed's campaign through real workers while something
goes wrong, then check the derived topics and every view against the rules.

The reference is the inbound log itself: ``inspections replay`` rebuilds every derived event
and view from it with the services' own cores (the audit test shows that equals what a
fault-free run of the services shows), and ``inspections audit verify`` compares the derived
topics with it by id: missing, extra, different, and same-id copies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from tests.conftest import FIGURES
from tests.integration.kafka_io import settled

SERVICES = ("scheduler", "findings", "escalation")
SCENARIO = "zhangzhou-2026"
LONG = os.environ.get("INSPECTIONS_FAULTS") == "long"  # `make faults`
# Simulated days a second of the short runs: each holds its publication at the points its
# faults need (``Publication``), so a faster run still meets every fault mid-run.
SPEED = 16


def figure(name: str, value) -> None:
    FIGURES[f"faults: {name}"] = str(value)
    print(f"{name}: {value}")


@dataclass
class Worker:
    service: str
    port: int
    proc: subprocess.Popen
    log: Path
    starts: int = 1
    host: str = "127.0.0.1"
    command: list[str] | None = None  # None: ``inspections run SERVICE``
    env: dict[str, str] = field(default_factory=dict)  # settings of its own

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class Stack:
    """Workers of a deployment (``tests.conftest.Deployment``), each on a web port of its own
    when there are two of a service on one address, or on an address (and with a state
    folder) of its own, as on hosts of their own."""

    deployment: object
    workers: dict[str, list[Worker]] = field(default_factory=dict)
    all_in_one: bool = False  # every service in one worker process (``inspections run all``)

    @property
    def env(self):
        return self.deployment.kafka

    def base_port(self, service: str) -> int:
        from runtime.config.settings import Settings
        from runtime.faust_runner.app import web_port

        return web_port(Settings(web_port_base=int(self.env.vars["INSPECTIONS_WEB_PORT_BASE"])),
                        service)

    def views_at(self, service: str) -> str:
        """Where the first worker answers ``service``'s views."""
        if self.all_in_one:
            return f"http://127.0.0.1:{self.base_port('all')}/{service}"
        return f"http://127.0.0.1:{self.base_port(service)}"

    def start(self, service: str, port: int | None = None,
              host: str = "127.0.0.1", command: list[str] | None = None,
              **env: str) -> Worker:
        """A worker of ``service`` (``command``: another program that runs one, as a test's
        own entry; ``env``: settings of its own)."""
        index = len(self.workers.get(service, []))
        port = port or self.base_port(service)
        log = self.deployment.tmp_path / f"{service}-{index}.log"
        worker = Worker(service, port, None, log, host=host, command=command, env=env)
        worker.proc = self._spawn(worker)
        self.workers.setdefault(service, []).append(worker)
        return worker

    def _spawn(self, worker: Worker) -> subprocess.Popen:
        from tests.conftest import CLI, REPO

        handle = open(worker.log, "ab")
        # A killed worker's partitions move on after 10 s (30 by default).
        env = dict(self.env.vars, INSPECTIONS_WEB_PORT=str(worker.port),
                   INSPECTIONS_WEB_HOST=worker.host, INSPECTIONS_GROUP_SESSION_TIMEOUT_S="10")
        if worker.host != "127.0.0.1":  # another host: a state folder of its own
            env["INSPECTIONS_HOME"] = str(self.deployment.tmp_path / f"home-{worker.host}")
        env.update(worker.env)
        command = worker.command or [*CLI, "run", worker.service]
        proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=handle,
                                stderr=subprocess.STDOUT)
        self.deployment.workers.append(proc)  # stopped at the end whatever happens
        return proc

    def start_all(self) -> None:
        for service in ("all",) if self.all_in_one else SERVICES:
            self.start(service)

    def kill(self, worker: Worker) -> None:
        worker.proc.kill()  # SIGKILL: no shutdown, no commit, no flush
        worker.proc.wait(timeout=30)

    def restart(self, worker: Worker) -> None:
        worker.proc = self._spawn(worker)
        worker.starts += 1

    def stop(self, worker: Worker) -> None:
        worker.proc.terminate()
        worker.proc.wait(timeout=90)

    def alive(self) -> list[Worker]:
        return [w for ws in self.workers.values() for w in ws if w.proc.poll() is None]

    def simulate(self, speed: float) -> subprocess.Popen:
        log = self.deployment.tmp_path / "simulate.log"
        return self.env.spawn("simulate", SCENARIO, "--speed", str(speed), log=log)

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        for worker in self.alive():
            ready(worker, max(1.0, deadline - time.monotonic()))

    def settle(self, timeout_s: float = 240) -> None:
        self.wait_ready(timeout_s)
        try:
            settled(self.env, self.deployment.prefix, timeout_s,
                    workers=["all"] if self.all_in_one else None)
        except AssertionError as exc:  # what the workers warned of, and are doing, tells why
            warned = {f"{w.service} :{w.port}": _warnings(w.log) for w in self.alive()}
            raise AssertionError(f"{exc}; the workers' last warnings: {warned}\n"
                                 f"{self._tasks()}") from None

    def _tasks(self) -> str:
        """What each live worker is doing: the stack of each of its asyncio tasks and threads
        (faust's worker writes them to its log on SIGUSR1), after its log's last lines."""
        sizes = {}
        for w in self.alive():
            sizes[w.port, w.service] = w.log.stat().st_size
            w.proc.send_signal(signal.SIGUSR1)
        time.sleep(3)
        said = []
        for w in self.alive():
            text = w.log.read_text(errors="replace")
            size = sizes.get((w.port, w.service), len(text))
            before = "\n".join(text[:size].splitlines()[-15:])
            said.append(f"--- {w.service} :{w.port} (started {w.starts} times), its last lines:"
                        f"\n{before}\n--- and its tasks:\n{text[size:][-30_000:]}")
        return "\n".join(said)


def ready(worker: Worker, timeout_s: float = 180) -> dict:
    """``/readyz`` of ``worker`` once it answers 200 (its partitions), asked again while it
    is not listening yet, starting, recovering or rebalancing; after ``timeout_s`` an
    AssertionError with the last answer and the worker's log tail."""
    url = f"{worker.url}/readyz"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # not listening yet; a reply cut short
            last = repr(exc)
        if worker.proc is not None and worker.proc.poll() is not None:
            raise AssertionError(f"{worker.service} on :{worker.port} exited "
                                 f"{worker.proc.returncode} before it was ready; its log "
                                 f"ends:\n{_tail(worker.log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{worker.service} on :{worker.port} not ready after "
                                 f"{timeout_s:.0f} s ({last}); its log ends:\n"
                                 f"{_tail(worker.log)}")
        time.sleep(0.25)  # a worker's readiness is waited for, not a whole second more


def holding(stack: Stack, timeout_s: float = 120) -> dict[str, list[int]]:
    """Partitions each running worker holds, by service, once every one holds some (two
    workers of a service share them after a rebalance or two)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = {service: [len(ready(w, max(1.0, deadline - time.monotonic()))["partitions"])
                           for w in workers if w.proc.poll() is None]
                 for service, workers in stack.workers.items()}
        if all(n and min(n) > 0 for n in found.values()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not every worker holds partitions after {timeout_s:.0f} s:"
                                 f" {found}")
        time.sleep(0.25)


def scenario_records(partitions: int) -> int:
    """How many records ``inspections simulate`` appends for the seed's campaign (its
    events, and a clock tick on every partition each midnight)."""
    from inspections.simulation import simulate

    return len(simulate.as_records(simulate.timeline(simulate.load(simulate.find(SCENARIO))),
                                   "events", partitions))


class Publication:
    """How far a run of the simulation is (records on the inbound topic, of the scenario's
    total), and holds: when it reaches each fraction of ``holds`` the run is paused (SIGSTOP)
    until ``go_on``. A test waits for a hold (``reached``) before its fault, so the fault
    lands mid-run however fast or slow the machine: a slow fault (a broker node restarting)
    makes the run wait at the next hold rather than end first."""

    def __init__(self, stack: Stack, run: subprocess.Popen, holds=()) -> None:
        from kafka import TopicPartition

        from runtime.plumbing import kafka

        settings = stack.env.settings()
        self.run = run
        self.reader = kafka.consumer(settings, client_id="fault-test-progress")
        topic = stack.deployment.topic("events")
        self.parts = [TopicPartition(topic, p)
                      for p in sorted(self.reader.partitions_for_topic(topic))]
        self.total = scenario_records(len(self.parts))
        self.holds = sorted(holds)
        self.count = 0
        self.others = 0  # records of the test's own on the topic, not the run's
        self.polls = 0  # end offsets read so far
        self.held_at: float | None = None
        self._changed = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    @property
    def fraction(self) -> float:
        return self.count / self.total

    def _follow(self) -> None:
        while not self._done:
            try:
                ends = self.reader.end_offsets(self.parts, timeout_ms=5000)
                count = sum(ends.values()) - self.others
            except Exception:  # a broker node away: ask again
                count = self.count
            with self._changed:
                self.count = count
                self.polls += 1
                if (self.held_at is None and self.holds and self.run.poll() is None
                        and count >= self.holds[0] * self.total):
                    self.run.send_signal(signal.SIGSTOP)
                    self.held_at = self.holds.pop(0)
                self._changed.notify_all()
            time.sleep(0.2)

    def reached(self, fraction: float, timeout_s: float = 600) -> None:
        """Until the run is held at ``fraction`` (one of ``holds``); an AssertionError if
        the run ended first or ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.held_at != fraction:
                if self.run.poll() is not None:
                    raise AssertionError(f"the run ended ({self.run.returncode}) before "
                                         f"{fraction:.0%} of it was published")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the run did not reach {fraction:.0%} in "
                                         f"{timeout_s:.0f} s: {self.fraction:.0%}")
                self._changed.wait(min(left, 1.0))

    def go_on(self) -> None:
        """Let the held run go on."""
        with self._changed:
            if self.held_at is not None:
                self.held_at = None
                self.run.send_signal(signal.SIGCONT)

    def until(self, fraction: float, timeout_s: float = 600) -> None:
        """Until at least ``fraction`` of the run is published (no hold)."""
        deadline = time.monotonic() + timeout_s
        ended_at = None  # the poll at which the run was seen ended: its last records after
        with self._changed:
            while self.fraction < fraction:
                if ended_at is None and self.run.poll() is not None:
                    ended_at = self.polls
                if ended_at is not None and self.polls > ended_at + 1:
                    raise AssertionError(f"the run ended at {self.fraction:.0%}, before "
                                         f"{fraction:.0%}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"the run did not reach {fraction:.0%} in "
                                         f"{timeout_s:.0f} s: {self.fraction:.0%}")
                self._changed.wait(1.0)

    def close(self) -> None:
        self._done = True
        self._thread.join(timeout=30)
        self.holds = []
        self.go_on()
        self.reader.close()


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _warnings(path: Path, lines: int = 8) -> list[str]:
    found = [line for line in path.read_text(errors="replace").splitlines()
             if '"level": "warning"' in line or '"level": "error"' in line]
    return found[-lines:]


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _get(url: str, timeout_s: float = 60):
    """A view's JSON (None for 404), retried while the worker is restarting or rebalancing."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            error = exc
        except OSError as exc:
            error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}: {error}")
        time.sleep(1)


# Replay's view folders, and where each service serves the same view.
VIEWS = {"campaigns": ("scheduler", "/campaigns/{}"), "units": ("scheduler", "/units/{}"),
         "findings": ("findings", "/findings/{}"), "assessments": ("findings", "/assessments/{}"),
         "escalations": ("escalation", "/escalations/{}")}


@dataclass
class Check:
    verify: dict
    views: int
    different_views: list[str]

    def copies(self) -> int:
        return sum(len(t["copies"]) for t in self.verify["topics"])

    def report(self, name: str) -> None:
        """The figures every fault test prints: derived events, copies, views compared."""
        figure(f"{name} derived", derived_counts(self.verify))
        figure(f"{name} same-id copies", self.copies())
        figure(f"{name} views compared", f"{self.views}, {len(self.different_views)} different")

    def problems(self) -> list[str]:
        out = []
        for t in self.verify["topics"]:
            for what in ("missing", "extra", "different"):
                if t[what]:
                    out.append(f"{t['topic']}: {len(t[what])} {what}: {t[what][:5]}")
        return out + [f"view differs: {v}" for v in self.different_views[:10]]


def check(stack: Stack, folder: Path, every_worker: bool = False) -> Check:
    """Replay the inbound log into ``folder``, verify the derived topics against it, and
    compare every view it built with what the live services serve (asked of the service's
    first worker, or with ``every_worker`` of each running worker of it)."""
    from tests.conftest import CLI, REPO

    env = stack.env
    # Replay and verify each read the inbound log on their own (verify recomputes the
    # derived events itself): run side by side, the one's start-up and reads overlap the
    # other's work.
    said = folder / "replay.out"
    said.parent.mkdir(parents=True, exist_ok=True)
    with open(said, "w") as out:
        replay = subprocess.Popen([*CLI, "replay", "--out", str(folder / "replay")],
                                  env=env.vars, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            report = folder / "verify.json"
            env.cli("audit", "verify", "--json", str(report), check=False, timeout=600)
            code = replay.wait(timeout=600)
        finally:
            if replay.poll() is None:
                replay.kill()
                replay.wait()
    if code != 0:
        raise AssertionError(f"inspections replay exited {code}:\n{said.read_text()[-5000:]}")
    result = json.loads(report.read_text())
    different, count = [], 0
    from inspections.audit.replay import read_views

    replayed = read_views(folder / "replay" / "views")
    for kind, (service, path) in VIEWS.items():
        bases = ([w.url for w in stack.workers[service] if w.proc.poll() is None]
                 if every_worker else [stack.views_at(service)])
        for (ident, view), base in product(sorted(replayed[kind].items()), bases):
            live = _get(base + path.format(ident))
            count += 1
            if live != view:
                different.append(f"{kind}/{ident} from {base}")
                kept = folder / "live" / kind / f"{ident.replace(':', '~')}.json"  # a look
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(json.dumps(live, ensure_ascii=False, indent=1, sort_keys=True))
    return Check(result, count, different)


def derived_counts(result: dict) -> dict[str, int]:
    return {t["topic"].split(".", 1)[1]: t["computed"] for t in result["topics"]}


def error_lines(paths) -> list[str]:
    """Errors a worker lived through: its own code's (inspections, services), a crash of
    faust's, a traceback. aiokafka's reports of a coordinator not there yet are not."""
    found = []
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                if "Traceback" in line:
                    found.append(f"{path.name}: {line[:300]}")
                continue
            own = str(record.get("logger", "")).startswith(
                ("inspections", "services", "runtime", "schemas", "kernel"))
            level = record.get("level")
            if (level == "critical" or (level == "error" and own)
                    or "crash" in str(record.get("event", "")).lower()):
                found.append(f"{path.name}: {line[:300]}")
    return found

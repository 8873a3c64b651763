"""Worker processes under measure: started, sampled for resident memory, timed from their
group's first stable assignment until everything they read is committed."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

from runtime.config.settings import Settings
from runtime.plumbing import kafka


def tree_peak(process: subprocess.Popen, every_s: float = 0.2) -> float:
    """The largest resident set (MiB) of ``process`` and its children, sampled until it ends."""
    peak = 0.0
    while process.poll() is None:
        pids = [process.pid]
        try:
            pids += [child.pid for child in psutil.Process(process.pid).children()]
        except psutil.Error:
            pass
        samples = [rss_mib(p) for p in pids]
        peak = max([peak, *(m for m in samples if m == m)])  # NaN: a process gone meanwhile
        time.sleep(every_s)
    return peak


def rss_mib(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / (1 << 20)
    except psutil.Error:
        return float("nan")


class Worker:
    """One worker process (a service, or the bare agent) on the bench's topics."""

    def __init__(self, name: str, args: list[str], env: dict, home: Path) -> None:
        self.name = name
        self.log_path = home / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, *args], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.rss: list[tuple[float, float]] = []

    def sample(self, t: float) -> None:
        self.rss.append((t, rss_mib(self.proc.pid)))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def worker_env(settings: Settings, home: Path) -> dict:
    """The environment of a worker under measure: the run's topics and home, on the
    settings' Kafka, no clock ticks of its own, warnings only, JSON logs."""
    return {**os.environ, "INSPECTIONS_TOPIC_PREFIX": settings.topic_prefix,
            "INSPECTIONS_HOME": str(home), "INSPECTIONS_CLOCK_INTERVAL_S": "0",
            "INSPECTIONS_LOG_LEVEL": "WARNING", "INSPECTIONS_LOG_FORMAT": "json",
            "INSPECTIONS_BOOTSTRAP_SERVERS": settings.bootstrap}


def command_for(service: str, settings: Settings) -> tuple[list[str], list[str]]:
    """A worker's arguments to Python (``bare``: the bare agent, ``bare-read``: the one that
    only reads) and the topics its group reads."""
    import services
    from runtime.config import topics

    if service in ("bare", "bare-read"):
        return (["-m", "bench.bare"] + (["--consume-only"] if service == "bare-read" else []),
                [topics.name(settings, topics.EVENTS)])
    return ["-m", "inspections.cli", "run", service], services.sources(service, settings)


def stable_groups(probe: kafka.LagProbe) -> set[str]:
    """The consumer groups whose members are assigned now (none while a fresh broker is
    still loading its group coordinator)."""
    from kafka.errors import KafkaError

    try:
        listed = probe.admin.list_groups()
    except KafkaError as exc:
        if not exc.retriable:
            raise
        return set()
    return {g["group_id"] for g in listed if g["group_state"] == "Stable"}


def run_until_caught_up(settings: Settings, workers: list[Worker],
                        groups: dict[str, list[str]], total: int, say) -> dict:
    """Wait until every group has committed its topics; rate from the first commit on."""
    started = time.monotonic()
    stable: dict[str, float] = {}  # when each group first had its members assigned
    last_note = started
    probe = kafka.LagProbe(settings)
    try:
        while True:
            now = time.monotonic()
            for worker in workers:
                if worker.proc.poll() is not None:
                    raise SystemExit(f"{worker.name} exited; see {worker.log_path}")
                worker.sample(now - started)
            if len(stable) < len(groups):
                for group in stable_groups(probe):
                    if group in groups:
                        stable.setdefault(group, now)
            behind = {g: probe.behind(g, t) for g, t in groups.items()}
            if len(stable) == len(groups) and all(b == 0 for b in behind.values()):
                break
            if now - last_note > 15:
                say(f"  ... {sum(behind.values())} records still to process")
                last_note = now
            time.sleep(0.25)
    finally:
        probe.close()
    ended = time.monotonic()
    span = max(1e-9, ended - min(stable.values()))
    return {"seconds": ended - started, "processing_seconds": span,
            "events_per_s": total / span}


def flat(samples: list[tuple[float, float]]) -> dict:
    """Resident memory after warm-up (the first fifth): its median, range, and whether every
    sample is within ±10 % of the median."""
    values = [v for _, v in samples]
    after = values[len(values) // 5:] or values
    median = statistics.median(after)
    tenth = max(1, len(values) // 10)
    return {"median_mib": round(median, 1), "min_mib": round(min(after), 1),
            "max_mib": round(max(after), 1), "samples": len(values),
            "flat": all(abs(v - median) <= 0.1 * median for v in after),
            # The shape: the median of each tenth of the run, first to last.
            "by_tenth_mib": [round(statistics.median(values[i:i + tenth]), 1)
                             for i in range(0, len(values), tenth)][:10]}


def batches_applied(settings: Settings,
                    names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Each worker's inbound records and batches applied so far (its
    ``inspections_batch_records`` histogram, read from its ``/metrics``), by the name it
    runs as (a service's, or ``all``)."""
    import re
    import urllib.request

    from runtime.config import topics
    from runtime.faust_runner.app import web_port
    from runtime.plumbing import webauth

    inbound = topics.name(settings, topics.EVENTS)
    found = {}
    for service in names:
        url = f"http://127.0.0.1:{web_port(settings, service)}/metrics"
        request = urllib.request.Request(url, headers=webauth.headers(settings))
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        got = {part: float(value) for part, value in re.findall(
            r'^inspections_batch_records_(sum|count)\{service="' + service + r'",topic="'
            + re.escape(inbound) + r'"\} (\S+)$', text, re.M)}
        found[service] = (got.get("sum", 0.0), got.get("count", 0.0))
    return found

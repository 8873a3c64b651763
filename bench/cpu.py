"""CPU time a worker spends on each inbound record: steadier than a rate on a machine whose
two cores the broker and the other processes share, and free of start-up.

    .venv/bin/python -m bench.cpu SERVICE [EVENTS]     (SERVICE: scheduler, findings,
                                                        escalation or bare; EVENTS 30000)

The worker starts on empty topics of a run's own; once its group is stable and it has been
idle a few seconds, the bench events are published and the worker's CPU seconds (user and
system, every thread) from then until its group has committed everything are divided by the
records. Prints one line.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import bare
from bench.events import fresh_topics, publish
from bench.workers import Worker, command_for, stable_groups, worker_env
from runtime.plumbing import kafka


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> int:
    args = argv or sys.argv[1:]
    service, count = args[0], int(args[1]) if len(args) > 1 else 30_000
    settings = fresh_topics()
    if service == "bare":
        bare.create_out_topic(settings)
    command, sources = command_for(service, settings)
    home = Path(tempfile.mkdtemp(prefix="inspections-cpu-"))
    group = settings.app_id(service)
    worker = Worker(service, command, worker_env(settings, home), home)
    probe = kafka.LagProbe(settings)
    try:
        while group not in stable_groups(probe):
            if worker.proc.poll() is not None:
                raise SystemExit(f"{service} exited; see {worker.log_path}")
            time.sleep(0.5)
        time.sleep(8)  # start-up's last work (recovery, first timers) left out
        before = cpu_seconds(worker.proc.pid)
        records = publish(settings, count, say=lambda m: None)
        while probe.behind(group, sources) > 0:
            if worker.proc.poll() is not None:
                raise SystemExit(f"{service} exited; see {worker.log_path}")
            time.sleep(0.25)
        spent = cpu_seconds(worker.proc.pid) - before
    finally:
        worker.stop()
        probe.close()
    print(f"{service}: {records} records, {spent / records * 1e6:.0f} µs of CPU a record "
          f"({spent:.1f} s); topics {settings.topic_prefix}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())

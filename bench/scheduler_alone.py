"""Events per second through the scheduler alone, and its resident memory at the end.

    .venv/bin/python -m bench.scheduler_alone [--events 100000]

Starts the local broker if no INSPECTIONS_BOOTSTRAP_SERVERS is set, publishes the events to
topics of their own (a fresh topic prefix), runs one `inspections run scheduler` worker and
waits until its consumer group has committed every offset of the inbound topic.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.events import publish_fresh
from inspections import kafka, topics


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _committed(admin, group: str, topic: str) -> int:
    offsets = admin.list_group_offsets([group]).get(group, {})
    return sum(o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset > 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    settings, records = publish_fresh(args.events,
                                      say=lambda m: print(m, file=sys.stderr))
    prefix = settings.topic_prefix
    home = Path(tempfile.mkdtemp(prefix="inspections-bench-"))
    admin = kafka.admin(settings)
    events_topic = topics.name(settings, topics.EVENTS)

    env = {**os.environ, "INSPECTIONS_TOPIC_PREFIX": prefix, "INSPECTIONS_HOME": str(home),
           "INSPECTIONS_CLOCK_INTERVAL_S": "0", "INSPECTIONS_LOG_LEVEL": "WARNING",
           "INSPECTIONS_LOG_FORMAT": "json"}
    log = open(home / "scheduler.log", "wb")
    t0 = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-m", "inspections.cli", "run", "scheduler"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    first = None
    try:
        while True:
            done = _committed(admin, f"{prefix}-scheduler", events_topic)
            if first is None and done > 0:
                first = (time.monotonic(), done)
            if done >= records:
                break
            if worker.poll() is not None:
                print(f"the worker exited; see {home / 'scheduler.log'}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        t1 = time.monotonic()
        rss = _rss_mib(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        admin.close()
    steady = (records - first[1]) / (t1 - first[0]) if t1 > first[0] else float("nan")
    print(f"scheduler alone: {records} records in {t1 - t0:.1f} s from worker start "
          f"= {records / (t1 - t0):.0f} events/s; after the first commit {steady:.0f} events/s;"
          f" resident memory at the end {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

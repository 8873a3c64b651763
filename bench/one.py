"""One worker alone on freshly published bench events: for profiling and quick comparisons.

    .venv/bin/python -m bench.one SERVICE [EVENTS]     (SERVICE: scheduler, findings,
                                                        escalation or bare; EVENTS 10000)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import services
from bench import bare
from bench.events import publish_fresh
from bench.workers import Worker, flat, run_until_caught_up
from runtime import topics


def main(argv: list[str] | None = None) -> int:
    args = argv or sys.argv[1:]
    service, count = args[0], int(args[1]) if len(args) > 1 else 10_000
    settings, records = publish_fresh(count, say=lambda m: print(m, file=sys.stderr))
    prefix = settings.topic_prefix
    if service == "bare":
        bare.create_out_topic(settings)
    home = Path(tempfile.mkdtemp(prefix="inspections-one-"))
    env = {**os.environ, "INSPECTIONS_TOPIC_PREFIX": prefix,
           "INSPECTIONS_HOME": str(home), "INSPECTIONS_CLOCK_INTERVAL_S": "0",
           "INSPECTIONS_LOG_LEVEL": "WARNING", "INSPECTIONS_LOG_FORMAT": "json"}
    if service == "bare":
        args, sources = ["-m", "bench.bare"], [topics.name(settings, topics.EVENTS)]
    else:
        args, sources = ["-m", "inspections.cli", "run", service], services.sources(service,
                                                                                    settings)
    worker = Worker(service, args, env, home)
    try:
        row = run_until_caught_up(settings, [worker], {settings.app_id(
            "bare" if service == "bare" else service): sources}, records,
            lambda m: print(m, file=sys.stderr))
    finally:
        worker.stop()
    rss = flat(worker.rss)
    tenths = [worker.rss[len(worker.rss) * i // 10][1] for i in range(10)] + [worker.rss[-1][1]]
    print("rss by tenth of the run (MiB): " + " ".join(f"{v:.0f}" for v in tenths))
    print(f"{service}: {records} records, {row['events_per_s']:.0f}/s "
          f"({row['processing_seconds']:.1f} s), rss after warm-up {rss['median_mib']} MiB "
          f"(median; {rss['min_mib']}-{rss['max_mib']}); "
          f"log {worker.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

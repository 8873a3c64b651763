"""One worker alone on freshly published bench events: for profiling and quick comparisons.

    .venv/bin/python -m bench.one SERVICE [EVENTS]     (SERVICE: scheduler, findings,
                                                        escalation, all or bare; EVENTS 10000)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench import bare
from bench.events import publish_fresh
from bench.workers import Worker, command_for, flat, run_until_caught_up, worker_env


def main(argv: list[str] | None = None) -> int:
    args = argv or sys.argv[1:]
    service, count = args[0], int(args[1]) if len(args) > 1 else 10_000
    settings, records = publish_fresh(count, say=lambda m: print(m, file=sys.stderr))
    if service == "bare":
        bare.create_out_topic(settings)
    home = Path(tempfile.mkdtemp(prefix="inspections-one-"))
    args, sources = command_for(service, settings)
    worker = Worker(service, args, worker_env(settings, home), home)
    try:
        row = run_until_caught_up(settings, [worker], {settings.app_id(service): sources},
                                  records, lambda m: print(m, file=sys.stderr))
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

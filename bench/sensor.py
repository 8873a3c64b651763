"""What faust's sensor costs a record: faust's own Prometheus sensor, told of each record
(message in, event in and out, message out), against the workers'
(``runtime.faust_runner.observe``), whose record hooks do nothing and which is told once a batch. In
one process, the same records, CPU time:

    .venv/bin/python -m bench.sensor [RECORDS] [BATCH]      (100000 and 100)
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace


class _Stream(SimpleNamespace):
    __hash__ = object.__hash__


def per_record_us(monitor, records: int, batch: int, partitions: int = 8) -> float:
    """CPU µs a record: each record through the sensor's record hooks as faust calls them,
    and (a sensor that has it) ``batch`` once for each ``batch`` records."""
    from faust.types import TP

    stream = _Stream(shortlabel="Stream: agent", task_owner=_Stream(name="task"))
    label = monitor._stream_label(stream)
    batched = hasattr(monitor, "batch")
    started = time.process_time()
    for first in range(0, records, batch):
        for n in range(first, first + batch):
            tp = TP("events", n % partitions)
            message = SimpleNamespace(time_in=None)
            monitor.on_message_in(tp, n, message)
            state = monitor.on_stream_event_in(tp, n, stream, None)
            monitor.on_stream_event_out(tp, n, stream, None, state)
            monitor.on_message_out(tp, n, message)
        if batched:
            monitor.batch("events", {p: first + batch - partitions + p
                                     for p in range(partitions)}, batch, label, 0.01)
    return (time.process_time() - started) / records * 1e6


def main(argv: list[str]) -> int:
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
    from prometheus_client import CollectorRegistry

    from runtime.faust_runner.observe import _monitor_class

    records = int(argv[0]) if argv else 100_000
    batch = int(argv[1]) if len(argv) > 1 else 100
    for _ in range(3):  # alternated, so that neither has the warmer machine
        faust_us = per_record_us(
            PrometheusMonitor(metrics=FaustMetrics.create(CollectorRegistry(), "f")),
            records, batch)
        ours_us = per_record_us(
            _monitor_class()(metrics=FaustMetrics.create(CollectorRegistry(), "f")),
            records, batch)
        print(f"faust's sensor {faust_us:.1f} µs a record, the workers' {ours_us:.1f} µs "
              f"({ours_us / faust_us:.2f}x; {records} records in batches of {batch})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Latency at a steady offered rate: each ``finding.recorded`` (a violation: it raises one
escalation) is sent at its scheduled moment; the clock starts when the broker acknowledges
it, and stops when this process reads its ``escalation.raised`` (a reader thread, one
clock for both). The first ``warm_up`` seconds are sent but not counted. Reported: p50,
p99 and max, the rate actually sent, and the rate of escalations read. The findings are
spread over units as a campaign spreads them: at most ``PER_UNIT`` a unit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta

from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing import kafka

PER_UNIT = 30  # findings a unit gets at most, as a campaign spreads them (a few dozen)


def _finding(i: int, base: datetime, units: int) -> tuple[str, str, bytes]:
    unit = f"lat{base:%H}-{i % units:05d}"  # units of this run's own (each run an hour apart)
    finding_id = f"lat-{uuid.uuid4().hex[:12]}"
    event = {"specversion": "1.0", "id": finding_id, "source": "urn:inspections:bench",
             "type": "finding.recorded", "subject": unit,
             "time": (base + timedelta(milliseconds=i)).isoformat(),
             "datacontenttype": "application/json",
             "data": {"finding_id": finding_id, "visit_id": f"visit-{unit}", "unit_id": unit,
                      "category": "violation", "description": "latency", "evidence": ["p.jpg"],
                      "advice": "fix", "cannot_ensure_safety": False}}
    return finding_id, unit, json.dumps(event).encode()


class Reader(threading.Thread):
    """Reads the escalations topic from its end now, noting when each cause's notice came."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        from kafka import TopicPartition

        self.topic = topics.name(settings, topics.ESCALATIONS)
        # A long poll: the broker answers as soon as a record comes.
        self.consumer = kafka.consumer(settings, client_id="bench-latency-reader")
        parts = [TopicPartition(self.topic, p)
                 for p in sorted(self.consumer.partitions_for_topic(self.topic))]
        self.consumer.assign(parts)
        for tp, end in self.consumer.end_offsets(parts).items():
            self.consumer.seek(tp, end)
        self.read: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for batch in self.consumer.poll(timeout_ms=100).values():
                now = time.monotonic()
                for record in batch:
                    cause = json.loads(record.value).get("causationid")
                    if cause is not None:
                        self.read.setdefault(cause, now)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        self.consumer.close()


def latency(settings: Settings, rate: float, seconds: float, base: datetime,
            warm_up: float = 5.0, say=print) -> dict:
    """``rate`` findings a second for ``warm_up + seconds``, dated from ``base`` (after what
    the partitions have seen, and within the span the gate admits ahead of it); latency of
    those after warm-up."""
    events_topic = topics.name(settings, topics.EVENTS)
    reader = Reader(settings)
    reader.start()
    producer = kafka.producer(settings, client_id="bench-latency", linger_ms=0)
    acked: dict[str, float] = {}
    count = int(rate * (warm_up + seconds))
    units = max(500, -(-count // PER_UNIT))
    counted_from = int(rate * warm_up)
    t0 = time.monotonic()
    for i in range(count):
        pause = t0 + i / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        finding_id, unit, value = _finding(i, base, units)
        future = producer.send(events_topic, key=unit.encode(), value=value)
        if i >= counted_from:
            future.add_callback(lambda _, f=finding_id: acked.__setitem__(f, time.monotonic()))
    producer.flush()
    sent_for = time.monotonic() - t0
    producer.close()
    deadline = time.monotonic() + max(60.0, seconds)
    while time.monotonic() < deadline and not all(f in reader.read for f in acked):
        time.sleep(0.1)
    reader.stop()
    ms = sorted((reader.read[f] - at) * 1000 for f, at in acked.items() if f in reader.read)
    if not ms:
        raise SystemExit(f"no escalation.raised came back at {rate}/s")

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)

    read_times = sorted(reader.read[f] for f in acked if f in reader.read)
    span = max(1e-9, read_times[-1] - read_times[0])
    say(f"  {rate:g}/s: p50 {pct(0.5)} ms, p99 {pct(0.99)} ms, max {round(ms[-1], 1)} ms")
    return {"offered_per_s": rate, "warm_up_s": warm_up, "sent": count,
            "sent_per_s": round(count / sent_for, 1),
            "read_per_s": round(len(read_times) / span, 1), "findings": len(acked),
            "escalations": len(ms), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": round(ms[-1], 1)}

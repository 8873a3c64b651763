"""Latency from ``finding.recorded`` appended to ``escalation.raised`` appended."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

from runtime import kafka, topics
from runtime.settings import Settings


def latency(settings: Settings, rate: float, seconds: float, say, drained) -> dict:
    """``finding.recorded`` (violations: each raises one escalation) at ``rate`` a second;
    latency is the Kafka append time of the ``escalation.raised`` minus that of its finding
    (one broker clock for both)."""
    from kafka import TopicPartition

    events_topic = topics.name(settings, topics.EVENTS)
    out_topic = topics.name(settings, topics.ESCALATIONS)
    reader = kafka.consumer(settings, client_id="bench-latency")
    parts = [TopicPartition(out_topic, p) for p in sorted(reader.partitions_for_topic(out_topic))]
    start_offsets = reader.end_offsets(parts)
    producer = kafka.producer(settings, client_id="bench-latency", linger_ms=0)
    base = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=8)))
    sent: dict[str, object] = {}
    count = int(rate * seconds)
    t0 = time.monotonic()
    for i in range(count):
        due = t0 + i / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        unit = f"lat{i % 500:03d}"
        finding_id = f"lat-{uuid.uuid4().hex[:10]}"
        event = {"specversion": "1.0", "id": finding_id, "source": "urn:inspections:bench",
                 "type": "finding.recorded", "subject": unit,
                 "time": (base + timedelta(milliseconds=i)).isoformat(),
                 "datacontenttype": "application/json",
                 "data": {"finding_id": finding_id, "visit_id": f"visit-{unit}",
                          "unit_id": unit, "category": "violation", "description": "latency",
                          "evidence": ["p.jpg"], "advice": "fix", "cannot_ensure_safety": False}}
        sent[finding_id] = producer.send(events_topic, key=unit.encode(),
                                         value=json.dumps(event).encode())
    producer.flush()
    offered = count / (time.monotonic() - t0)
    appended = {fid: future.get(timeout=60).timestamp for fid, future in sent.items()}
    producer.close()
    say(f"  offered {offered:.0f} findings/s for {seconds:.0f} s; waiting for the services ...")
    drained()  # every finding processed: then each one's escalation is on the topic
    reader.assign(parts)
    for tp in parts:
        reader.seek(tp, start_offsets[tp])
    got: dict[str, int] = {}
    deadline = time.monotonic() + 120
    while len(got) < len(appended) and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=500).values():
            for record in batch:
                cause = json.loads(record.value).get("causationid")
                if cause in appended and cause not in got:
                    got[cause] = record.timestamp - appended[cause]
    reader.close()
    ms = sorted(got.values())
    if not ms:
        raise SystemExit("no escalation.raised came back")

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))]

    return {"offered_per_s": round(offered), "findings": count, "escalations": len(ms),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": ms[-1]}

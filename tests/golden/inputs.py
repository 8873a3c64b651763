"""The fixed inputs of the golden comparison, as the records Kafka would hold (partition,
offset, append time, key, value), built without a broker.

- ``seed``: the seed's campaign (``zhangzhou-2026``) with its ticks.
- ``odd``: the same, with events out of the usual course (late, stray, duplicate) and 300
  records the gate refuses, spread through it.
- ``bench``: 100,000 events of the benchmark's generator (fixed seed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

PARTITIONS = 8
TOPIC = "inspections.events"


def _records(items: list[tuple[bytes | None, bytes, int, int | None]]):
    """(key, value, append ms, partition or None) in append order -> records with offsets."""
    from inspections.audit.replay import Record
    from runtime.plumbing.kafka import partition_for

    offsets = [0] * PARTITIONS
    out = []
    for n, (key, value, ms, partition) in enumerate(items):
        if partition is None:
            partition = partition_for(key, PARTITIONS) if key else n % PARTITIONS
        out.append(Record(TOPIC, partition, offsets[partition], ms, key, value))
        offsets[partition] += 1
    return out


def _campaign_items() -> list[tuple[bytes | None, bytes, int, int | None]]:
    from inspections.simulation import simulate
    from kernel.vocabulary import BROADCAST
    from schemas.envelope import tick_events

    plan = simulate.load(simulate.find("zhangzhou-2026"))
    items = []
    for when, event in simulate.timeline(plan):
        ms = int(when.timestamp() * 1000)
        if event is None:
            items += [(None, raw, ms, p) for p, raw in tick_events(when, range(PARTITIONS))]
        elif event["type"] in BROADCAST:  # a policy adopted: to every partition, as published
            items += [(None, simulate.record(event), ms, p) for p in range(PARTITIONS)]
        else:
            items.append((event["subject"].encode(), simulate.record(event), ms, None))
    return items


def seed():
    return _records(_campaign_items())


def odd():
    import json

    from tests.examples import event
    from tests.faults import bad_records

    items = _campaign_items()
    end_ms = items[-1][2]
    strays = [
        {**event("finding.recorded", id="odd-late-finding", time="2026-05-02T10:00:00+08:00"),
         "subject": "changtai"},
        event("escalation.acknowledged", id="odd-ack", time="2027-01-02T10:00:00+08:00",
              data={**event("escalation.acknowledged")["data"],
                    "escalation_id": "F-nobody:report_major_hazard"}),
        event("rectification.report.submitted", id="odd-report",
              time="2027-01-02T11:00:00+08:00",
              data={**event("rectification.report.submitted")["data"],
                    "visit_id": "visit-nowhere", "rectified_finding_ids": ["F-nowhere"]}),
        event("visit.ended", id="odd-end", time="2027-01-02T12:00:00+08:00",
              data={**event("visit.ended")["data"], "visit_id": "visit-never-scheduled"}),
    ]
    items += [(e["subject"].encode(), json.dumps(e, ensure_ascii=False).encode(), end_ms + i, None)
              for i, e in enumerate(strays)]
    items.append(items[40])  # a duplicate of an event processed before
    bad = bad_records.records(300, seed=17, huge_ones=2)
    step = len(items) // len(bad)
    for n, (key, value, _) in enumerate(bad):
        at = n * step + n
        items.insert(at, (key, value, items[at][2], None))
    return _records(items)


def bench():
    import json
    from datetime import datetime

    from bench.events import generate

    items = []
    for key, value in generate(100_000):
        # Appended when it happened, as a simulation publishes (the gate refuses an event
        # dated far ahead of its append time and its partition's clock).
        ms = int(datetime.fromisoformat(json.loads(value)["time"]).timestamp() * 1000)
        if key is None:
            items += [(None, value, ms, p) for p in range(PARTITIONS)]
        else:
            items.append((key.encode(), value, ms, None))
    return _records(items)


INPUTS: dict[str, Callable] = {"seed": seed, "odd": odd, "bench": bench}


def digest(records) -> str:
    """Of the records' places, times, keys and values: a changed input is told apart from a
    changed output."""
    h = hashlib.sha256()
    for r in records:
        h.update(f"{r.partition}/{r.offset}/{r.timestamp_ms}/".encode())
        h.update(repr(r.key).encode())
        h.update(b"\x00" + (r.value or b"") + b"\x00")
    return h.hexdigest()

"""A reproducible stream of contract events for benchmarks (fixed random seed).

Each synthetic unit gets one visit: scheduled, started, sites on most days, findings of every
category, ended, feedback, a rectification report; a clock tick every simulated day. Units
are interleaved as a live campaign's would be.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

START = datetime.fromisoformat("2026-04-18T09:00:00+08:00")
CATEGORIES = ["general"] * 6 + ["violation"] * 2 + ["major_hazard", "major_issue",
                                                     "misconduct_clue", "accountability"]
SECTORS = ["road_traffic", "waterway_traffic", "fishery", "hazardous_chemicals", "construction",
           "fire_safety", "other"]


def _envelope(kind: str, event_id: str, t: datetime, subject: str, data: dict) -> dict:
    return {"specversion": "1.0", "id": event_id, "source": "urn:inspections:bench",
            "type": kind, "time": t.isoformat(), "subject": subject,
            "datacontenttype": "application/json", "correlationid": f"visit-{subject}",
            "data": data}


def _unit_events(rng: random.Random, unit: str, start: datetime) -> list[tuple[datetime, dict]]:
    kind = "zone" if rng.random() < 0.3 else "county"
    visit = f"visit-{unit}"
    n = iter(range(10_000))
    out = []

    def add(t, event_type, **data):
        out.append((t, _envelope(event_type, f"{unit}-{next(n)}", t, unit, data)))

    members = [{"person_id": f"{unit}-p{i}", "name": f"组员{i}", "role": role,
                "organization": "市安委会", "trained": True}
               for i, role in enumerate(["leader", "deputy_leader", "expert"] + ["member"] * 5)]
    add(start - timedelta(days=7), "visit.scheduled", campaign_id="bench", visit_id=visit,
        unit_id=unit, unit_name=unit, unit_kind=kind, batch=1, phase=1,
        planned_start=start.date().isoformat(),
        planned_end=(start + timedelta(days=10)).date().isoformat(),
        townships_total=0 if kind == "zone" else 12, departments_total=20,
        team={"team_id": f"T-{unit}", "members": members})
    add(start, "visit.started", visit_id=visit, unit_id=unit)
    days = rng.randint(8, 12)
    for i in range(rng.randint(30, 45)):
        t = start + timedelta(days=rng.random() * days)
        site_kind = rng.choice(["community", "department", "enterprise"] if kind == "zone"
                               else ["township", "department", "enterprise", "enterprise"])
        add(t, "site.inspected", visit_id=visit, unit_id=unit, site_kind=site_kind,
            site_id=f"{unit}-s{i}", site_name=f"site {i}",
            method=rng.choice(["report", "meeting", "documents", "open_visit",
                               "unannounced_visit"]))
    for i in range(rng.randint(5, 12)):
        t = start + timedelta(days=rng.random() * days)
        add(t, "finding.recorded", finding_id=f"{unit}-F{i}", visit_id=visit, unit_id=unit,
            category=rng.choice(CATEGORIES), sector=rng.choice(SECTORS),
            aspect=rng.randint(1, 9), item=rng.randint(1, 60),
            description="发现问题：安全生产责任制落实不到位", evidence=["photo.jpg"],
            advice="限期整改", cannot_ensure_safety=rng.random() < 0.1)
    end = start + timedelta(days=days, hours=6)
    add(end, "visit.ended", visit_id=visit, unit_id=unit)
    add(end + timedelta(days=3), "feedback.delivered", visit_id=visit, unit_id=unit)
    add(end + timedelta(days=rng.randint(30, 70)), "rectification.report.submitted",
        visit_id=visit, unit_id=unit, report_id=f"R-{unit}", rectified_finding_ids=[],
        pending_finding_ids=[])
    return out


def generate(count: int, seed: int = 20260418) -> Iterator[tuple[str | None, bytes]]:
    """About ``count`` (key, value) records in time order; ticks have no key."""
    rng = random.Random(seed)
    timed: list[tuple[datetime, dict]] = []
    unit = 0
    while len(timed) < count:
        timed += _unit_events(rng, f"u{unit:05d}", START + timedelta(days=rng.random() * 200))
        unit += 1
    timed.sort(key=lambda pair: (pair[0], pair[1]["id"]))
    timed = timed[:count]
    day = timed[0][0].replace(hour=0, minute=0, second=0)
    for t, body in timed:
        while t >= day + timedelta(days=1):
            day += timedelta(days=1)
            yield None, json.dumps(_envelope("clock.ticked", f"tick-{day.date()}", day,
                                             "clock", {})).encode()
        yield body["subject"], json.dumps(body, ensure_ascii=False).encode()


def last_time(count: int, seed: int = 20260418) -> datetime:
    """The time of the last of ``generate(count)``'s events: what follows them (the latency
    runs' findings) comes after it, within the span the gate admits ahead of a partition's
    clock (``INSPECTIONS_MAX_TIME_AHEAD``)."""
    return max(datetime.fromisoformat(json.loads(value)["time"])
               for _, value in generate(count, seed))


def fresh_topics():
    """A fresh topic prefix on the configured Kafka (the local broker, started if need be)
    and its topics. Returns the settings naming them."""
    import sys
    import uuid

    from inspections.localkafka import LocalBroker
    from runtime.config import topics
    from runtime.config.settings import Settings
    from runtime.plumbing import kafka

    base = Settings()
    if not base.bootstrap_servers:
        LocalBroker(base, say=lambda m: print(m, file=sys.stderr)).start()
    settings = base.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:6]}"})
    admin = kafka.admin(settings)
    try:
        topics.ensure_topics(admin, settings)
    finally:
        admin.close()
    return settings


def publish(settings, count: int, say=print) -> int:
    """About ``count`` events published to the settings' inbound topic (a tick to every
    partition). Returns the records published."""
    import time

    from runtime.config import topics
    from runtime.plumbing import kafka

    events_topic = topics.name(settings, topics.EVENTS)
    producer = kafka.producer(settings, client_id="bench", linger_ms=20, batch_size=512_000)
    started, records = time.monotonic(), 0
    try:
        for key, value in generate(count):
            if key is None:  # a tick: to every partition
                for p in range(settings.partitions):
                    producer.send(events_topic, value=value, partition=p)
                    records += 1
            else:
                producer.send(events_topic, key=key.encode(), value=value)
                records += 1
        producer.flush()
    finally:
        producer.close()
    say(f"published {records} records to {events_topic} in {time.monotonic() - started:.1f} s")
    return records


def publish_fresh(count: int, say=print):
    """``fresh_topics`` with about ``count`` events published. Returns (settings, records)."""
    settings = fresh_topics()
    return settings, publish(settings, count, say)

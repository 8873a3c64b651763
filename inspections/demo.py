"""``inspections demo``: the local broker, the topics, a worker, and events through the gate.

At this stage the main job is the intake gate; the seed's whole campaign comes later (issue 9).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from inspections import kafka, topics
from inspections.localkafka import LocalBroker
from inspections.settings import PACKAGE_DIR, Settings

SAMPLE = PACKAGE_DIR / "data" / "first-events.jsonl"


def _key(line: bytes) -> bytes | None:
    try:
        subject = json.loads(line).get("subject")
    except (ValueError, AttributeError):
        return None
    return subject.encode() if isinstance(subject, str) else None


def publish_lines(settings: Settings, lines: list[bytes]) -> None:
    producer = kafka.producer(settings, client_id="inspections-demo")
    try:
        for line in lines:
            producer.send(topics.name(settings, topics.EVENTS), key=_key(line), value=line)
        producer.flush()
    finally:
        producer.close()


def read_new(
    settings: Settings, topic: str, start: dict, want: int, timeout_s: float,
    give_up=lambda: False,
) -> list:
    """Records of ``topic`` past ``start`` offsets, until ``want`` arrived, time is up, or
    ``give_up()`` says so."""
    from kafka import TopicPartition

    consumer = kafka.consumer(settings, client_id="inspections-demo-reader")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(start)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start[tp.partition])
        got: list = []
        deadline = time.monotonic() + timeout_s
        while len(got) < want and time.monotonic() < deadline and not give_up():
            for records in consumer.poll(timeout_ms=500).values():
                got.extend(records)
        return got
    finally:
        consumer.close()


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    from kafka import TopicPartition

    consumer = kafka.consumer(settings, client_id="inspections-demo-offsets")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def run(settings: Settings, keep_running: bool, say=print) -> int:
    broker = None
    if not settings.bootstrap_servers:
        broker = LocalBroker(settings, say=say)
        already = broker.status().running
        broker.start()
        if already:
            broker = None  # not ours to stop
    admin = kafka.admin(settings)
    try:
        for report in topics.ensure_topics(admin, settings):
            say(f"topic {report.name}: {report.action}")
    finally:
        admin.close()

    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "scheduler.log"
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "inspections.cli", "run", "scheduler"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "INSPECTIONS_LOG_FORMAT": "json"},
        )
    say(f"scheduler worker started (pid {worker.pid}), log in {log_path}")
    try:
        lines = [ln for ln in Path(SAMPLE).read_bytes().splitlines() if ln.strip()]
        rejected_topic = topics.name(settings, topics.REJECTED)
        start = end_offsets(settings, rejected_topic)
        publish_lines(settings, lines)
        expected = sum(1 for ln in lines if not _valid(ln))
        say(f"published {len(lines)} sample events from {SAMPLE.name}; waiting for the gate ...")
        rejected = read_new(
            settings, rejected_topic, start, expected, timeout_s=90,
            give_up=lambda: worker.poll() is not None,
        )
        for record in rejected:
            data = json.loads(record.value)["data"]
            print(f"rejected  {data['topic']}[{data['partition']}]@{data['offset']}: {data['reason']}")
        print(f"{len(lines)} published, {len(lines) - len(rejected)} passed the gate, "
              f"{len(rejected)} rejected to {rejected_topic}")
        if len(rejected) != expected:
            say(f"expected {expected} rejections; see {log_path}")
            return 1
        if keep_running:
            print(f"Kafka at {settings.bootstrap}; worker log {log_path}. Ctrl-C stops the demo.")
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            while worker.poll() is None:
                time.sleep(1)
            say(f"the scheduler worker exited ({worker.returncode}); see {log_path}")
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        if broker is not None:
            broker.stop()


def _valid(line: bytes) -> bool:
    from schemas import Rejection, decode

    return not isinstance(decode(line), Rejection)

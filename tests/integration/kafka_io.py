"""kafka-python helpers for the integration tests (real broker, no mocks)."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]]) -> list:
    """Send (key, value) pairs; return each record's metadata (partition, offset)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=20000)
    try:
        futures = [producer.send(topic, key=k, value=v) for k, v in records]
        producer.flush()
        return [f.get(timeout=30) for f in futures]
    finally:
        producer.close()


def read_all(bootstrap: str, topic: str, want: int | None = None, timeout_s: float = 60) -> list:
    """Every record of ``topic`` from offset 0 (or until ``want`` are in, or time is up)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(parts)
        got: list = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                got.extend(batch)
            if want is None and all(consumer.position(tp) >= ends[tp] for tp in parts):
                break
            if want is not None and len(got) >= want:
                break
        return got
    finally:
        consumer.close()

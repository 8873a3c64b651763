"""The baselines every figure is a ratio of: a plain kafka-python loop and the same with
aiokafka, reading and JSON-decoding every record of a topic."""

from __future__ import annotations

import asyncio
import json
import time

from runtime.config.settings import Settings


def kafka_python_loop(settings: Settings, topic: str, total: int) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=None,
                             enable_auto_commit=False, max_partition_fetch_bytes=8 * 2**20,
                             fetch_max_bytes=64 * 2**20)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    started, seen = time.monotonic(), 0
    while seen < total:
        for batch in consumer.poll(timeout_ms=500, max_records=10_000).values():
            for record in batch:
                json.loads(record.value)
                seen += 1
    elapsed = time.monotonic() - started
    consumer.close()
    return elapsed


def aiokafka_loop(settings: Settings, topic: str, total: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> float:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=None,
                                    enable_auto_commit=False,
                                    max_partition_fetch_bytes=8 * 2**20,
                                    fetch_max_bytes=64 * 2**20)
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p)
                     for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not parts:
                await consumer._client.force_metadata_update()
                parts = [TopicPartition(topic, p)
                         for p in sorted(consumer.partitions_for_topic(topic))]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            started, seen = time.monotonic(), 0
            while seen < total:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for batch in batches.values():
                    for record in batch:
                        json.loads(record.value)
                        seen += 1
            return time.monotonic() - started
        finally:
            await consumer.stop()

    return asyncio.run(run())

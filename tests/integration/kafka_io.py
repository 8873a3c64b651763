"""kafka-python helpers for the integration tests (real broker, no mocks), and waiting."""

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


def settled(kafka, prefix, timeout_s=180, workers=None):
    """Wait until every service's group (of its live generation) has committed every offset
    of what it reads; ``workers``: the names the workers run as (default: each service's;
    ``("all",)`` for one worker of every service)."""
    from runtime.config.settings import Settings
    from runtime.faust_runner import generations
    from services import SYSTEM, sources

    base = Settings(bootstrap_servers=kafka.bootstrap, topic_prefix=prefix)
    reads = {}
    for name in workers or [s.name for s in SYSTEM]:
        live = generations.of(base, generations.live(base, name))
        reads[live.app_id(name)] = sources(name, live)
    wait_committed(kafka, reads, timeout_s, named=True)


def wait_committed(kafka, reads, timeout_s=180, named=False):
    """Wait until each group (``<prefix>-<service>``) has committed the end of every topic it
    reads (``<prefix>.<name>``, or with ``named`` the topic's full name).

    A committed offset is the state's too: a worker acks a batch's records only after its
    outputs are acknowledged and its state written (runtime/faust_runner/batching.py), and faust commits
    only acked offsets; so once every end is committed the views and derived topics hold
    everything, and there is nothing to wait out after it (a fixed 3 s sleep here, from the
    days of separate views agents, is gone). Asked every 0.25 s: faust commits every 2.8 s,
    and a settle waits for the next commit rather than for the next whole second."""
    from runtime.config.settings import Settings
    from runtime.plumbing.kafka import LagProbe

    probe = LagProbe(Settings(bootstrap_servers=kafka.bootstrap))

    def behind() -> dict[str, int]:
        return {f"{group} on {name}": probe.behind(
                    group, [name if named else f"{group.rsplit('-', 1)[0]}.{name}"])
                for group, names in reads.items() for name in names}

    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not any(behind().values()):
                return
            time.sleep(0.25)
        late = {where: n for where, n in behind().items() if n}
        raise AssertionError(f"the services did not catch up in {timeout_s} s: {late}")
    finally:
        probe.close()


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Until ``condition()`` holds, or an AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")

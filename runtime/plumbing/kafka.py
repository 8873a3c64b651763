"""kafka-python clients built from settings, so every command connects the same way; a
record as the runners read it (``Record``), and a topic read whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from runtime.config.settings import Settings


@dataclass(frozen=True)
class Record:
    """A record of a topic, as a runner reads it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def common(settings: Settings, client_id: str) -> dict[str, Any]:
    return {"bootstrap_servers": settings.bootstrap.split(","), "client_id": client_id,
            "bootstrap_timeout_ms": int(settings.kafka_timeout_s * 1000),
            **security(settings)}


def security(settings: Settings) -> dict[str, Any]:
    """kafka-python's options for TLS and SASL, from settings (nothing for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if "SASL" in protocol:
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                       sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=settings.kafka_sasl_password.get_secret_value())
    if settings.uses_tls:
        options["ssl_context"] = ssl_context(settings)
    return options


def ssl_context(settings: Settings):
    """The TLS context every client uses: the configured CA (else the system's), hostname
    checked, and the client certificate when one is configured."""
    import ssl

    context = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(str(settings.kafka_ssl_certfile),
                                str(settings.kafka_ssl_keyfile))
    return context


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2 of the key), as the producers use it: the
    partition of a unit's records, and so of its state."""
    from kafka.partitioner.default import murmur2

    return (murmur2(key) & 0x7FFFFFFF) % partitions


def admin(settings: Settings, client_id: str = "inspections-admin"):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(**common(settings, client_id),
                            request_timeout_ms=int(settings.kafka_timeout_s * 1000))


def producer(settings: Settings, client_id: str = "inspections-producer", **extra: Any):
    """Idempotent, acks=all: what an upstream publisher of a system of record should use."""
    from kafka import KafkaProducer

    options = {"acks": "all", "enable_idempotence": True, "linger_ms": 5,
               "max_block_ms": int(settings.kafka_timeout_s * 1000), **extra}
    return KafkaProducer(**common(settings, client_id), **options)


def consumer(settings: Settings, client_id: str = "inspections-reader", **extra: Any):
    """A read-only consumer: no group, no commits, so it never disturbs the services."""
    from kafka import KafkaConsumer

    return KafkaConsumer(
        **common(settings, client_id), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", **extra
    )


class LagProbe:
    """How far consumer groups are behind, with one reader and one admin client."""

    def __init__(self, settings: Settings) -> None:
        self.reader = consumer(settings, client_id="inspections-lag-probe")
        self.admin = admin(settings, client_id="inspections-lag-probe")

    def behind(self, group: str, topic_names) -> int:
        """Records of ``topic_names`` that ``group`` has not committed yet (every partition;
        one never committed counts from 0)."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        try:
            committed = self.admin.list_group_offsets([group]).get(group, {})
        except KafkaError:
            committed = {}
        behind = 0
        for topic in topic_names:
            parts = [TopicPartition(topic, p)
                     for p in sorted(self.reader.partitions_for_topic(topic) or ())]
            for tp, end in self.reader.end_offsets(parts).items():
                got = committed.get(tp)
                behind += max(0, end - (got.offset if got and got.offset >= 0 else 0))
        return behind

    def close(self) -> None:
        self.reader.close()
        self.admin.close()


def records_behind(settings: Settings, group: str, topic_names) -> int:
    probe = LagProbe(settings)
    try:
        return probe.behind(group, topic_names)
    finally:
        probe.close()


# -- reading a topic whole, as no member of any group ----------------------------------------
def stream_log(settings: Settings, topic: str,
               advance: Callable[[int], None] = lambda n: None) -> Iterator[Record]:
    """Every record of ``topic`` up to the end offsets at the start, partition after
    partition, each in offset order; read as it goes, so memory does not grow with the log."""
    from kafka import TopicPartition


    reader = consumer(settings, client_id="inspections-replay",
                      max_partition_fetch_bytes=8 * 2**20, fetch_max_bytes=64 * 2**20)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic)
                                                        or ())]
        if not parts:
            raise RuntimeError(f"topic {topic} not found at {settings.bootstrap}")
        ends = reader.end_offsets(parts)
        for tp in parts:
            reader.assign([tp])
            reader.seek_to_beginning(tp)
            while reader.position(tp) < ends[tp]:
                for batch in reader.poll(timeout_ms=500, max_records=10_000).values():
                    kept = [Record(topic, r.partition, r.offset, r.timestamp, r.key, r.value)
                            for r in batch if r.offset < ends[tp]]
                    advance(len(kept))
                    yield from kept
    finally:
        reader.close()


def log_size(settings: Settings, topic: str) -> int:
    from kafka import TopicPartition

    reader = consumer(settings, client_id="inspections-replay-size")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic)
                                                        or ())]
        begins, ends = reader.beginning_offsets(parts), reader.end_offsets(parts)
        return sum(ends[tp] - begins[tp] for tp in parts)
    finally:
        reader.close()

"""kafka-python clients built from settings, so every command connects the same way."""

from __future__ import annotations

from typing import Any

from inspections.settings import Settings


def common(settings: Settings, client_id: str) -> dict[str, Any]:
    return {"bootstrap_servers": settings.bootstrap.split(","), "client_id": client_id,
            "bootstrap_timeout_ms": int(settings.kafka_timeout_s * 1000)}


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

"""Topics are the project's: explicit partitions, kept forever, never auto-created."""

from __future__ import annotations

import re

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaTimeoutError

from runtime.config.topics import TOPICS


def test_topics_create_is_idempotent_and_keeps_everything(kafka):
    again = kafka.cli("topics", "create")
    lines = again.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [t.name for t in TOPICS]
    assert all(line.split()[1] == "exists" for line in lines)

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics([t.name for t in TOPICS])}
        assert {name: len(t["partitions"]) for name, t in described.items()} == {
            t.name: t.partitions or 8 for t in TOPICS
        }
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in TOPICS],
            config_filter="all",
        )["topic"]
        for spec in TOPICS:
            assert configs[spec.name]["retention.ms"]["value"] == "-1"
            assert configs[spec.name]["retention.bytes"]["value"] == "-1"
    finally:
        admin.close()


def test_retention_drift_is_put_back(kafka):
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "inspections.breaches",
                                            {"retention.ms": "3600000"})])
        out = kafka.cli("topics", "create").stdout
        assert re.search(r"^inspections.breaches +updated", out, re.M)
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "inspections.breaches")],
            config_filter="all",
        )["topic"]["inspections.breaches"]
        assert configs["retention.ms"]["value"] == "-1"
    finally:
        admin.close()


def test_an_unknown_topic_is_not_auto_created(kafka):
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send("inspections.evnets", b"typo").get(timeout=5)
    finally:
        producer.close(timeout=1)
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        assert "inspections.evnets" not in admin.list_topics()
    finally:
        admin.close()

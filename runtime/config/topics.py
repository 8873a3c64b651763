"""The project's Kafka topics, in one table, and their idempotent creation.

Topics are made here, never auto-created. The inbound and derived topics are the system of
record that audits replay, so they keep everything (``retention.ms=-1``, no size limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.config.settings import Settings

EVENTS = "inspections.events"
ESCALATIONS = "inspections.escalations"
BREACHES = "inspections.breaches"
REJECTED = "inspections.rejected"
# Internal: what the scheduler re-keys from every partition to its campaign side. One
# partition, so that every partition's watermarks meet there (a few records a day each).
SCHEDULER_PROGRESS = "inspections.scheduler.progress"

# Which generation of each service's state is live (runtime/faust_runner/generations.py): a
# compacted partition, key the service.
GENERATIONS = "inspections.generations"
INTERNAL = frozenset({SCHEDULER_PROGRESS})  # a generation of its own each

REJECTED_MAX_BYTES = 4 * 1024 * 1024
# A changelog record is one key of a service's state; the contract's bounds (ids, texts,
# lists) and the rules' caps keep the largest well under this.
CHANGELOG_MAX_BYTES = 8 * 1024 * 1024
CHANGELOG_CONFIG = {"cleanup.policy": "compact", "max.message.bytes": str(CHANGELOG_MAX_BYTES)}
RECORD_MAX_BYTES = max(REJECTED_MAX_BYTES, CHANGELOG_MAX_BYTES)  # what a producer may send
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    config: dict[str, str] = field(default_factory=lambda: dict(KEEP_FOREVER))
    partitions: int | None = None  # None: the partitions setting

    def partition_count(self, settings: Settings) -> int:
        return self.partitions or settings.partitions


TOPICS: tuple[TopicSpec, ...] = (
    # Each record stamped with the broker's time of append, not the publisher's: the gate's
    # clock (``runtime.handling.partition_clock``) trusts it to refuse an event dated far ahead.
    TopicSpec(EVENTS, "every upstream event (contract), key = subject",
              {**KEEP_FOREVER, "message.timestamp.type": "LogAppendTime"}),
    TopicSpec(ESCALATIONS, "escalation.raised / escalation.escalated / escalation.withdrawn"),
    TopicSpec(BREACHES, "deadline.breached"),
    TopicSpec(
        REJECTED,
        "records of inspections.events that failed the contract, once each",
        # A rejection carries the original record (up to the inbound topic's 1 MiB) in base64.
        {**KEEP_FOREVER, "max.message.bytes": str(REJECTED_MAX_BYTES)},
    ),
    TopicSpec(
        SCHEDULER_PROGRESS,
        "internal: plans, visit ends and partition watermarks, for the campaign side",
        partitions=1,
    ),
    TopicSpec(GENERATIONS, "internal: the live generation of each service's state",
              {**KEEP_FOREVER, "cleanup.policy": "compact"}, partitions=1),
)


def published(system) -> tuple[str, ...]:
    """The public derived topics of a declared system, by name: each topic its services
    write that is none of theirs alone (``INTERNAL``), and the rejected records' when one
    of them publishes rejections."""
    written = {w.topic for s in system for w in s.writes
               if w.topic is not None and w.topic not in INTERNAL}
    if any(s.publishes_rejections for s in system):
        written.add(REJECTED)
    return tuple(sorted(written))


def name(settings: Settings, canonical: str) -> str:
    """The topic's name in this deployment: the canonical name under the topic prefix (an
    internal topic's with the generation's suffix, after the first)."""
    named = settings.topic_prefix + canonical.removeprefix("inspections")
    return f"{named}.g{settings.generation}" if (
        canonical in INTERNAL and settings.generation) else named


def ensure_internal(admin, settings: Settings) -> list[str]:
    """Create the internal topics of the settings' generation if missing (a rebuild's)."""
    from kafka.errors import TopicAlreadyExistsError

    made = []
    existing = set(admin.list_topics())
    for spec in TOPICS:
        if spec.name in INTERNAL and name(settings, spec.name) not in existing:
            try:
                admin.create_topics({name(settings, spec.name): {
                    "num_partitions": spec.partition_count(settings),
                    "replication_factor": settings.replicas,
                    "configs": {**spec.config,
                                "min.insync.replicas": str(settings.min_insync)}}},
                    wait_for_metadata=True)
                made.append(name(settings, spec.name))
            except TopicAlreadyExistsError:
                pass
    return made


@dataclass(frozen=True)
class TopicReport:
    name: str
    action: str  # "created" | "exists" | "updated"
    partitions: int
    note: str = ""


def ensure_topics(admin, settings: Settings) -> list[TopicReport]:
    """Create the missing topics; bring the retention of existing ones back to the table.

    Idempotent. A topic with another partition count is reported, not changed: Kafka can only
    add partitions, and adding them moves keys (and so a unit's order) between partitions.
    """
    from kafka.admin import ConfigResource, ConfigResourceType

    named = {spec.name: name(settings, spec.name) for spec in TOPICS}
    existing = {t["name"]: t for t in admin.describe_topics() if t.get("error_code", 0) == 0}
    missing = [spec for spec in TOPICS if named[spec.name] not in existing]
    if missing:
        admin.create_topics(
            {
                named[spec.name]: {
                    "num_partitions": spec.partition_count(settings),
                    "replication_factor": settings.replicas,
                    "configs": {**spec.config, "min.insync.replicas": str(settings.min_insync)},
                }
                for spec in missing
            },
            wait_for_metadata=True,
        )
    reports = [TopicReport(named[s.name], "created", s.partition_count(settings))
               for s in missing]

    present = [spec for spec in TOPICS if named[spec.name] in existing]
    if present:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, named[spec.name]) for spec in present],
            config_filter="all",
        )
        by_topic = next(iter(described.values())) if described else {}
        for spec in present:
            actual = {k: _value(v) for k, v in by_topic.get(named[spec.name], {}).items()}
            drift = {k: v for k, v in spec.config.items() if actual.get(k) != v}
            if drift:
                admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, named[spec.name], drift)])
            count = len(existing[named[spec.name]]["partitions"])
            want = spec.partition_count(settings)
            note = f"has {count} partitions, settings say {want}; left as it is" if (
                count != want) else ""
            reports.append(
                TopicReport(named[spec.name], "updated" if drift else "exists", count, note)
            )
    order = {named[spec.name]: i for i, spec in enumerate(TOPICS)}
    return sorted(reports, key=lambda r: order[r.name])


def _value(entry) -> str | None:
    if isinstance(entry, dict):
        return entry.get("value", entry.get("config_value"))
    return entry

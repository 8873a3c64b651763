"""What a batch sends: outboxes of records per topic, sent together and acknowledged once,
and the internal topics' packed records of frozen values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.codec import dumps

# An internal topic's records packed into arrays of about this size (well under Kafka's 1 MiB).
PACK_BYTES = 256 * 1024


class Outbox:
    """Records for one topic, sent when the batch commits, in the order they were added.

    A record added with ``replaces`` supersedes the one added earlier with the same value
    (keeping that one's place), unless a record without ``replaces`` came in between on the
    same ``lane`` (None: every lane): a view re-keyed many times in a batch is sent once, and
    never moves across a record that must stay after it (a partition's watermark after that
    partition's unit news, say)."""

    def __init__(self, topic, encode: Callable[[Any], bytes] | None = None,
                 pack_bytes: int = 0) -> None:
        self.topic = topic
        self.encode = encode
        # >0: consecutive records of one key go as one record, a JSON array of their values,
        # of up to about this many bytes (``unpack`` reads it): an internal topic's consumer
        # then pays faust's per-record cost once per array, not per value.
        self.pack_bytes = pack_bytes
        self.records: list[tuple[bytes | None, Any, int | None]] = []
        self.segments: dict[Any, dict] = {}

    def add(self, key: bytes | None, value, *, replaces=None, lane=None,
            partition: int | None = None) -> None:
        record = (key, value, partition)
        if replaces is not None:
            self.segments.setdefault(lane, {})[replaces] = record
            return
        for name in ([lane] if lane is not None else list(self.segments)):
            self.records.extend(self.segments.pop(name, {}).values())
        self.records.append(record)

    async def send(self) -> int:
        """Send every record, then wait until the broker has them all: a batch's state is
        written only after what it derived is safely on its topics (on any cluster)."""
        import asyncio

        for segment in self.segments.values():
            self.records.extend(segment.values())
        self.segments.clear()
        encode, name = self.encode, self.topic.get_topic_name()
        wire = [(key, encode(value) if encode else value, partition)
                for key, value, partition in self.records]
        if self.pack_bytes:
            wire = _packed(wire, self.pack_bytes)
        # faust's producer, not Topic.send: this skips its per-record channel and sensor
        # work; faust's commit flushes this producer too.
        producer = self.topic.app.producer
        pending = [await producer.send(name, key, value, partition, None, None)
                   for key, value, partition in wire]
        if pending:
            await asyncio.gather(*pending)
        sent = len(self.records)
        self.records.clear()
        return sent


def _packed(records: list[tuple[bytes | None, bytes, int | None]], limit: int) -> list:
    """Runs of records with the same key and partition, each as JSON arrays of their values
    of up to ``limit`` bytes (a value larger than that alone), in order."""
    out: list = []
    run: list[bytes] = []
    size = 0
    place = None
    for key, value, partition in records:
        if run and ((key, partition) != place or size + len(value) + 1 > limit):
            out.append((place[0], b"[" + b",".join(run) + b"]", place[1]))
            run, size = [], 0
        place = (key, partition)
        run.append(value)
        size += len(value) + 1
    if run:
        out.append((place[0], b"[" + b",".join(run) + b"]", place[1]))
    return out


class Tagged:
    """JSON for a few frozen dataclasses on an internal topic: ``{"kind", "body"}``."""

    def __init__(self, kinds: dict[str, type]) -> None:
        from pydantic import TypeAdapter

        self.adapters = {kind: TypeAdapter(cls) for kind, cls in kinds.items()}
        self.kinds = {cls: kind for kind, cls in kinds.items()}
        self.envelope = TypeAdapter(dict)
        self.array = TypeAdapter(list[dict])

    def encode(self, value) -> bytes:

        kind = self.kinds[type(value)]
        return dumps({"kind": kind, "body": self.adapters[kind].dump_python(value, mode="json")})

    def decode(self, raw: bytes):
        record = self.envelope.validate_json(raw)
        return self.adapters[record["kind"]].validate_python(record["body"])

    def unpack(self, raw: bytes) -> list:
        """The values of one record: a packed array (``Outbox`` with ``pack_bytes``) or one."""
        if not raw.startswith(b"["):
            return [self.decode(raw)]
        return [self.adapters[record["kind"]].validate_python(record["body"])
                for record in self.array.validate_json(raw)]

"""What a batch sends: outboxes of records per topic, sent together and acknowledged once,
and the internal topics' packed records of frozen values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.codec import dumps

# An internal topic's records packed into arrays of about this size (well under Kafka's 1 MiB).
PACK_BYTES = 256 * 1024


class Outbox:
    """Records for one topic, sent when the batch commits, in the order they were added."""

    def __init__(self, topic, encode: Callable[[Any], bytes] | None = None,
                 pack_bytes: int = 0) -> None:
        self.topic = topic
        self.encode = encode
        # >0: consecutive records of one key go as one record, a JSON array of their values,
        # of up to about this many bytes (``unpack`` reads it): an internal topic's consumer
        # then pays faust's per-record cost once per array, not per value.
        self.pack_bytes = pack_bytes
        self.records: list[tuple[bytes | None, Any, int | None]] = []

    def add(self, key: bytes | None, value, *, partition: int | None = None) -> None:
        self.records.append((key, value, partition))

    async def send(self) -> list:
        """Hand every record to the producer; returns what to await: the broker's
        acknowledgements (a batch awaits every outbox's at once)."""
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
        self.records.clear()
        return pending


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

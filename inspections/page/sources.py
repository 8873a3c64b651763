"""Where the operator page reads: the services' views over HTTP, and the topics it keeps in
memory by id (breaches, rejected records), each read from the start by a background thread
that joins no consumer group.

What it keeps is bounded: the newest ``KEEP_BREACHES`` breaches (each small, whole), and a
short summary of each of the newest ``KEEP_REJECTED`` rejected records with where it lies on
the topic; a rejected record's bytes are read again from there when its page is asked for.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from inspections.asking.client import service_url
from kernel.due import OWNERS
from kernel.paging import MAX_PAGE
from kernel.vocabulary import SERVICES
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing import logs

KEEP_BREACHES = 20_000  # the newest breaches the page keeps (a campaign's year: hundreds)
KEEP_REJECTED = 10_000  # the newest rejected records it keeps a summary of
SHORT_REASON, SHORT_KEY = 500, 200  # a summary's reason and key, cut to this many characters


class TopicReader:
    """The records of one topic, parsed by ``parse`` (None: not one to show) and kept in
    memory by id, so that a redelivered copy is one item, with where each lies (partition,
    offset); at most ``keep`` of them, the newest by ``order``: when full, the oldest tenth
    goes (``dropped`` counts them) and nothing as old is taken again. Read by a background
    thread from the start, and again from the start whenever the broker went away."""

    def __init__(self, settings: Settings, topic: str, parse: Callable[[bytes], dict | None],
                 order: Callable[[dict], Any], keep: int) -> None:
        self.settings, self.topic, self.parse, self.order = settings, topic, parse, order
        self.keep = keep
        self.by_id: dict[str, dict] = {}
        self.where: dict[str, tuple[int, int]] = {}
        self.dropped = 0
        self.floor: Any = None  # the order of the newest item dropped
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._read, name=topic, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def all(self) -> list[dict]:
        with self.lock:
            return sorted(self.by_id.values(), key=self.order)

    def _read(self) -> None:
        from kafka import TopicPartition

        from runtime.plumbing import kafka

        log = logs.get(__name__)
        topic = topics.name(self.settings, self.topic)
        while not self.stopped.is_set():
            consumer = None
            try:
                consumer = kafka.consumer(self.settings, client_id="inspections-operator")
                parts = consumer.partitions_for_topic(topic) or set()
                consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
                consumer.seek_to_beginning()
                while not self.stopped.is_set():
                    for records in consumer.poll(timeout_ms=500).values():
                        for record in records:
                            self._add(record.value, (record.partition, record.offset))
            except Exception as exc:  # the broker went away: try again
                log.warning("topic not readable, retrying", topic=topic, error=str(exc))
                self.stopped.wait(2)
            finally:
                if consumer is not None:
                    consumer.close()

    def _add(self, raw: bytes, place: tuple[int, int] = (-1, -1)) -> None:
        try:
            item = self.parse(raw)
        except Exception as exc:  # not one this page can show: skipped, said once
            logs.get(__name__).warning("record skipped: not what the project writes there",
                                       topic=self.topic, partition=place[0], offset=place[1],
                                       error=f"{type(exc).__name__}: {exc}"[:300])
            return
        if item is None:
            return
        with self.lock:
            if self.floor is not None and self.order(item) <= self.floor:
                return  # as old as what was dropped (read again after a reconnection)
            self.by_id[item["id"]] = item
            self.where[item["id"]] = place
            if len(self.by_id) > self.keep:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        """The oldest tenth gone at once: a sort per tenth of ``keep`` records, not per one."""
        ordered = sorted(self.by_id.values(), key=self.order)
        gone = ordered[:len(ordered) - self.keep + max(1, self.keep // 10)]
        for item in gone:
            del self.by_id[item["id"]]
            del self.where[item["id"]]
        self.dropped += len(gone)
        self.floor = self.order(gone[-1])

    def get(self, item_id: str) -> dict | None:
        with self.lock:
            return self.by_id.get(item_id)

    def record(self, item_id: str, timeout_s: float = 10) -> bytes | None:
        """The bytes of a kept item's record, read again from its place on the topic (it
        blocks: run it in a thread); None when the topic no longer holds it."""
        from kafka import TopicPartition

        from runtime.plumbing import kafka

        with self.lock:
            place = self.where.get(item_id)
        if place is None or place[0] < 0:
            return None
        partition, offset = place
        tp = TopicPartition(topics.name(self.settings, self.topic), partition)
        consumer = kafka.consumer(self.settings, client_id="inspections-operator")
        try:
            consumer.assign([tp])
            consumer.seek(tp, offset)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500, max_records=1).values():
                    for found in records:
                        return found.value if found.offset == offset else None
            return None
        finally:
            consumer.close()


def breach_item(raw: bytes) -> dict:
    """A breach as the page shows it, from a record checked against the contract's
    ``deadline.breached`` (a forged or broken one raises, and is skipped)."""
    from schemas.derived import DeadlineBreached

    event = json.loads(DeadlineBreached.model_validate_json(raw).model_dump_json())
    data = event["data"]
    return {"id": event["id"], "time": event["time"], "kind": data["kind"],
            "unit_id": data["unit_id"], "subject_id": data["subject_id"], "due": data["due"],
            "service": event["source"].rsplit(":", 1)[-1], "detail": data.get("detail")}


def _cut(text: str | None, most: int) -> str | None:
    return text if text is None or len(text) <= most else text[:most - 1] + "…"


def rejected_item(raw: bytes) -> dict:
    """A rejected record's summary: small whatever the record (no bytes; reason and key
    cut short). Its whole (``rejected_detail``) is read again when asked for."""
    from inspections.upstream.rejected import Rejected

    r = Rejected.of(json.loads(raw))  # a forged or broken one raises, and is skipped
    summary = r.summary()
    return {**summary, "reason": _cut(summary["reason"], SHORT_REASON),
            "key": _cut(summary["key"], SHORT_KEY), "topic": r.topic,
            "partition": r.partition, "offset": r.offset}


def rejected_detail(raw: bytes) -> dict:
    """A rejected record whole: its summary, and the original bytes as text and base64."""
    from inspections.upstream.rejected import Rejected

    return Rejected.of(json.loads(raw)).detail()


def breaches(settings: Settings) -> TopicReader:
    """The newest ``deadline.breached`` on the breaches topic, whole."""
    return TopicReader(settings, topics.BREACHES, breach_item,
                       order=lambda b: (b["time"], b["id"]), keep=KEEP_BREACHES)


def rejections(settings: Settings) -> TopicReader:
    """The newest ``record.rejected`` on the rejected topic, each as its summary."""
    return TopicReader(settings, topics.REJECTED, rejected_item,
                       order=lambda r: (r["time"], r["place"]), keep=KEEP_REJECTED)


class Views:
    """The services' HTTP views, asked on each request."""

    def __init__(self, settings: Settings) -> None:
        self.base = {s: service_url(settings, s) for s in SERVICES}

    async def get(self, session, service: str, path: str, **params) -> Any:
        import aiohttp

        url = self.base[service] + path
        try:
            async with session.get(url, params={k: v for k, v in params.items() if v},
                                   timeout=aiohttp.ClientTimeout(total=10)) as answer:
                if answer.status == 404:
                    return None
                if answer.status in (400, 422):
                    raise Refused(str((await answer.json()).get("error", "bad request")))
                if answer.status == 202:  # a past state the service is still computing
                    raise Computing(await answer.json())
                answer.raise_for_status()
                return await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise Unavailable(f"the {service} service did not answer at {url}: {exc}") from None

    async def every(self, session, service: str, path: str, field: str, **params) -> Any:
        """A paged list view whole: its first page, with ``field`` holding the items of every
        page (each asked with the largest ``limit`` and the cursor the one before gave)."""
        first = await self.get(session, service, path, limit=str(MAX_PAGE), **params)
        answer, seen = first, set()
        while answer is not None and answer.get("next_cursor"):
            cursor = answer["next_cursor"]
            if cursor in seen:  # a service that does not move on must not hold the page
                raise Unavailable(f"the {service} service gave the cursor {cursor!r} twice "
                                  f"for {path}")
            seen.add(cursor)
            answer = await self.get(session, service, path, limit=str(MAX_PAGE),
                                    cursor=cursor, **params)
            if answer is not None:
                first[field] += answer[field]
        if first is not None:
            first["next_cursor"] = None
        return first

    async def stream_times(self, session) -> dict[str, str | None]:
        """Each rule-keeping service's stream time (its partitions' latest), for "as of";
        None where it does not answer (the page still shows what it has)."""
        found = {}
        for service in OWNERS:
            try:
                times = (await self.get(session, service, "/stream-time") or {}).get(
                    "partitions", {})
            except Unavailable:
                times = {}
            found[service] = max((t for t in times.values() if t), default=None)
        return found


class Unavailable(Exception):
    pass


class Refused(Exception):
    """A service refused what the page forwarded (a bad filter): the reader's to fix."""


class Computing(Exception):
    """A service is computing a past state the page asked for (``as_of``): how far it is."""

    def __init__(self, progress: dict) -> None:
        super().__init__(f"computing: {progress.get('records')} of {progress.get('of')}")
        self.progress = progress



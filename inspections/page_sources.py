"""Where the operator page reads: the services' views over HTTP, and the topics it keeps in
memory by id (breaches, rejected records), each read from the start by a background thread
that joins no consumer group."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from inspections.asking import service_url
from inspections.due import OWNERS
from kernel.vocabulary import SERVICES
from runtime import logs, topics
from runtime.http import MAX_PAGE
from runtime.settings import Settings


class TopicReader:
    """Every record of one topic, parsed by ``parse`` (None: not one to show) and kept in
    memory by id, so that a redelivered copy is one item; read by a background thread from
    the start, and again from the start whenever the broker went away."""

    def __init__(self, settings: Settings, topic: str, parse: Callable[[bytes], dict | None],
                 order: Callable[[dict], Any]) -> None:
        self.settings, self.topic, self.parse, self.order = settings, topic, parse, order
        self.by_id: dict[str, dict] = {}
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

        from runtime import kafka

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
                            self._add(record.value)
            except Exception as exc:  # the broker went away: try again
                log.warning("topic not readable, retrying", topic=topic, error=str(exc))
                self.stopped.wait(2)
            finally:
                if consumer is not None:
                    consumer.close()

    def _add(self, raw: bytes) -> None:
        try:
            item = self.parse(raw)
        except (ValueError, KeyError, TypeError):
            return  # not one this page can show; the audit tools report such records
        if item is not None:
            with self.lock:
                self.by_id[item["id"]] = item


def breach_item(raw: bytes) -> dict:
    event = json.loads(raw)
    data = event["data"]
    return {"id": event["id"], "time": event["time"], "kind": data["kind"],
            "unit_id": data["unit_id"], "subject_id": data["subject_id"], "due": data["due"],
            "service": event["source"].rsplit(":", 1)[-1], "detail": data.get("detail")}


def rejected_item(raw: bytes) -> dict:
    from inspections.rejected import Rejected

    return Rejected.of(json.loads(raw)).detail()


def breaches(settings: Settings) -> TopicReader:
    """Every ``deadline.breached`` on the breaches topic."""
    return TopicReader(settings, topics.BREACHES, breach_item,
                       order=lambda b: (b["time"], b["id"]))


def rejections(settings: Settings) -> TopicReader:
    """Every ``record.rejected`` on the rejected topic, with its cause and original bytes."""
    return TopicReader(settings, topics.REJECTED, rejected_item,
                       order=lambda r: (r["time"], r["place"]))


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
                if answer.status == 400:
                    raise Refused((await answer.json()).get("error", "bad request"))
                answer.raise_for_status()
                return await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise Unavailable(f"the {service} service did not answer at {url}: {exc}") from None


    async def every(self, session, service: str, path: str, field: str, **params) -> Any:
        """A paged list view whole: its first page, with ``field`` holding the items of every
        page (each asked with the largest ``limit`` and the cursor the one before gave)."""
        first = await self.get(session, service, path, limit=str(MAX_PAGE), **params)
        answer = first
        while answer is not None and answer.get("next_cursor"):
            answer = await self.get(session, service, path, limit=str(MAX_PAGE),
                                    cursor=answer["next_cursor"], **params)
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



"""The faust runner: a service's declaration (``kernel.topology.Service``) as a faust app.

Per topic the service reads, an agent takes its records in batches (``runtime.batching``):
each record through the gate (the inbound topic) or its decoder, then the flow's handler with
a context over the batch's staged stores; what the flow emits goes, by its type, to an outbox
of its topic. At commit every outbox is sent and acknowledged, then each changed key written.

State is one faust table co-partitioned with the inbound topic (``state``: a unit's state in
its partition) and, for a service with a cross-partition side, a one-partition table
(``side``). The service's ``serve`` adds its pages, gauges and timers (``Worker`` gives them
the stores, routing by unit, and a scatter-gather over the workers of the group).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from yarl import URL

from kernel.due import Wanted, due_list, latest
from kernel.ids import digest, seen_key
from kernel.topology import Read, Service, Store
from runtime import faust_internals, generations, logs, metrics, topics
from runtime.app import make_app, raw_topic, table
from runtime.batching import Batch, batches
from runtime.canonical import dumps  # derived events hold no floats
from runtime.intake import accepted
from runtime.kafka import partition_for
from runtime.observe import Observer
from runtime.publishing import PACK_BYTES, Outbox
from runtime.reporting import report_irregular
from runtime.settings import Settings
from runtime.stores import (
    Seen,
    Timelines,
    Units,
    Values,
    forget_cached_state,
    forget_cached_state_on_rebalance,
)
from schemas.envelope import rejection_event, service_source


def make_store(store: Store, tbl, settings: Settings):
    cached = settings.state_cache_entries
    if store.kind == "units":
        return Units(tbl, store.name, store.value_type,
                     dict(zip(store.entities, store.entity_types)), cached)
    if store.kind == "timelines":
        return Timelines(tbl, store.name)
    if store.kind == "seen":
        return Seen(tbl, store.name, cached)
    if store.kind == "custom":
        return store.value_type(tbl, store.name, cached)
    return Values(tbl, store.name, store.value_type, cached)


class BatchContext:
    """What a handler gets with each record of a batch: its partition and key, the staged
    stores of its side, ``seen``, and ``emit`` into the batch's outboxes."""

    __slots__ = ("partition", "key", "stores", "_seen", "emit", "quiet")

    def __init__(self, stores: dict, seen, emit: Callable[[Any], None]) -> None:
        self.quiet = False  # the record's public records left out (a generation catching up)
        self.partition = 0
        self.key: bytes | None = None
        self.stores = stores
        self._seen = seen
        self.emit = emit

    def store(self, name: str):
        return self.stores[name]

    def seen(self, event_id: str) -> bool:
        place = seen_key(self.key, self.partition)
        digests = self._seen[place]
        if not digests.add(digest(event_id)):
            return True
        self._seen[place] = digests  # staged: its new chunk is written at commit
        return False


class Worker:
    def __init__(self, service: Service, settings: Settings,
                 quiet: generations.Quiet | None = None) -> None:
        self.service, self.settings = service, settings
        # A generation catching up beside the live one publishes nothing the live one did.
        self.quiet = quiet or generations.Quiet(None)
        self.app = app = make_app(service.name, settings)
        # A batch writes each changed key once: room for a full batch's writes (a few a
        # record), so that the streams do not stop at every commit.
        faust_internals.producer_room(app, 10 * settings.batch_max_records)
        self.log = logs.get(f"services.{service.name}")
        forget_cached_state_on_rebalance(app)
        self.flow = service.flow(settings)
        self.state_table = table(app, settings, "state")
        self.side_table = (table(app, settings, "side", 1)
                           if service.stores_of(partitioned=False) else None)
        self.stores = {
            s.name: make_store(s, self.state_table if s.partitioned else self.side_table,
                               settings)
            for s in service.stores}
        self.topics = {t: raw_topic(app, topics.name(settings, t))
                       for t in {*(r.topic for r in service.reads),
                                 *(w.topic for w in service.writes if w.topic),
                                 *((topics.REJECTED,) if service.publishes_rejections else ())}}
        self.events_topic = topics.name(settings, topics.EVENTS)
        # One batch at a time across the worker's agents, from its first read to its writes:
        # two agents share a unit's state (findings reads events and breaches), and a batch
        # that read a unit before another's commit would write back a state without it.
        self.applying = asyncio.Lock()
        self.gauges: Callable[[list[int], bool], None] | None = None
        self.observer = Observer(app, settings, service.name,
                                 sources=[topics.name(settings, r.topic) for r in service.reads],
                                 gauges=self._gauges,
                                 publishes_rejections=service.publishes_rejections)
        for read in service.reads:
            self._agent(read)
        service.serve(self)
        self._stream_time_page()
        self._policy_page()
        generations.Watch(settings, service.name, self.quiet).attach(app)

    # -- reading -------------------------------------------------------------------------
    def _agent(self, read: Read) -> None:
        app, service, flow = self.app, self.service, self.flow
        handler = getattr(flow, read.handler)
        stores = {s.name: self.stores[s.name] for s in service.stores
                  if s.partitioned == read.partitioned and s.kind != "seen"}
        seen = next((self.stores[s.name] for s in service.stores if s.kind == "seen"), None)
        progress = self.observer.progress
        skip = service_source(read.skip_source) if read.skip_source else None

        async def agent(stream):
            async for batch in batches(stream, self.settings, progress):
                async with self.applying:
                    await apply(batch)
                self._gauges_now()

        quiet = self.quiet

        async def apply(batch) -> None:
            try:
                left_out = await quiet.left_out(e.message for e in batch.events)
                context = self._context(batch, stores, seen)
                if read.contract:
                    for message, event in accepted(batch, progress,
                                                   self._rejecter(batch, left_out)):
                        context.partition, context.key = message.partition, message.key
                        context.quiet = (message.topic, message.partition,
                                         message.offset) in left_out
                        handler(context, event)
                        report_irregular(flow.irregular, service.name)
                else:
                    for message in batch.records():
                        context.partition, context.key = message.partition, message.key
                        context.quiet = (message.topic, message.partition,
                                         message.offset) in left_out
                        for value in read.decode(message.value):
                            if skip is not None and getattr(value, "source", None) == skip:
                                continue  # the service's own: applied as it derived it
                            handler(context, value)
                await batch.commit()
            except BaseException:
                forget_cached_state()  # what was kept may be ahead of the tables
                raise

        agent.__name__ = f"{read.handler}_{read.topic.rsplit('.', 1)[-1]}"
        app.agent(self.topics[read.topic], name=f"{service.name}.{agent.__name__}",
                  concurrency=1)(agent)

    def _context(self, batch: Batch, stores: dict, seen) -> BatchContext:
        staged = {name: batch.stage(store) for name, store in stores.items()}
        outboxes: dict[str, Outbox] = {}
        service = self.service

        def emit(fact: Any) -> None:
            write = service.write_for(fact)
            if context.quiet and write.topic not in topics.INTERNAL:
                return  # the live generation published it (and reported it)
            if write.report is not None:
                write.report(fact, service.name)
            if write.topic is None:
                return
            box = outboxes.get(write.topic)
            if box is None:
                packed = write.key is None
                box = outboxes[write.topic] = batch.outbox(
                    self.topics[write.topic],
                    (lambda f: write.encode(f, service.name)) if packed else None,
                    PACK_BYTES if packed else 0)
            if write.key is None:
                box.add(None, fact)
            else:
                box.add(write.key(fact), dumps(write.encode(fact, service.name)))

        context = BatchContext(staged, batch.stage(seen) if seen is not None else None, emit)
        return context

    def _rejecter(self, batch: Batch, left_out: set):
        if not self.service.publishes_rejections:
            return None
        box = batch.outbox(self.topics[topics.REJECTED])
        service = self.service.name

        def reject(message, rejection) -> None:
            if (message.topic, message.partition, message.offset) in left_out:
                return  # the live generation rejected it
            box.add(message.key, dumps(rejection_event(
                service=service, topic=message.topic, partition=message.partition,
                offset=message.offset, timestamp_ms=int(round(message.timestamp * 1000)),
                key=message.key, value=message.value, reason=rejection.reason)))
            metrics.RECORDS_REJECTED.labels(rejection.cause).inc()
            self.log.warning("record rejected", cause=rejection.cause, reason=rejection.reason)
        return reject

    # -- where things are --------------------------------------------------------------------
    def active_partitions(self) -> list[int]:
        """The inbound topic's partitions this worker owns (its state's, too)."""
        assignor = getattr(self.app, "assignor", None)
        if assignor is None:
            return []
        return sorted(tp.partition for tp in assignor.assigned_actives()
                      if tp.topic == self.events_topic)

    def owns_side(self) -> bool:
        if self.side_table is None:
            return False
        name = self.side_table.changelog_topic.get_topic_name()
        assignor = getattr(self.app, "assignor", None)
        return assignor is not None and any(
            tp.topic == name for tp in assignor.assigned_actives())

    def _gauges(self, actives) -> None:
        if self.gauges is not None:
            self.gauges(self.active_partitions(), self.owns_side())

    def _gauges_now(self) -> None:
        if self.gauges is not None and self.observer.ready() is None:
            self.gauges(self.active_partitions(), self.owns_side())

    # -- pages -------------------------------------------------------------------------------
    def by_unit(self, match_info: str = "unit_id"):
        """A page for one unit: answered by the worker that owns the unit's partition."""
        return self.app.table_route(self.state_table, match_info=match_info)

    def on_side(self):
        """A page over the cross-partition side: answered by the worker that owns it."""
        return self.app.table_route(self.side_table, exact_key="side")

    async def gather(self, web, request, local: Callable[[list[int]], list],
                     answer: Callable[[list], Any]):
        """Scatter-gather over the group: ``local(partitions)`` for this worker's own
        partitions and the same page asked of every other owner (``?local=1``: answer for
        your own only), concatenated and made the page by ``answer``."""
        mine = self.active_partitions()
        if request.query.get("local") == "1":
            return web.json({"local": local(mine)})
        found = list(local(mine))
        here = str(self.app.conf.canonical_url)
        owners = self.app.router.table_metadata(self.state_table.name)
        others = [url for url, held in owners.items() if str(url) != here and any(held.values())]
        if others:
            answers = await asyncio.gather(*(self._ask(url, request) for url in others))
            for part in answers:
                found += part
        return answer(found)

    def _stream_time_page(self) -> None:
        """``/stream-time``: each partition's stream time (the latest event time its rules
        have applied), from every worker of the group (``inspections status``)."""
        timelines = next((self.stores[s.name] for s in self.service.stores
                          if s.kind == "timelines"), None)
        if timelines is None:
            return

        @self.app.page("/stream-time")
        async def stream_time(web, request):
            def local(partitions: list[int]) -> list:
                return [[p, None if (t := timelines.get(p)) is None or t.stream_time is None
                         else t.stream_time.isoformat()] for p in partitions]

            return await self.gather(web, request, local, lambda found: web.json(
                {"partitions": {str(p): t for p, t in sorted(found)}}))

    def _policy_page(self) -> None:
        """``/policy``: the city's policy this worker runs (``runtime.policy``), with where
        it came from."""
        from runtime import policy

        running = policy.load(self.settings)
        answer = {"source": running.source, **policy.as_dict(running)}

        @self.app.page("/policy")
        async def policy_page(web, request):
            return web.json(answer)

    async def gather_due(self, web, request, local: Callable[[list[int]], list]):
        """A service's ``/due`` page: the obligations ``local`` lists for each worker's
        partitions (its first item ``{"as_of": stream time}``), filtered by the request's
        ``unit``, ``authority``, ``kind`` and ``due_within`` against the latest stream time."""
        q = request.query
        try:
            wanted = Wanted.of(q.get("unit"), q.get("authority"), q.get("kind"),
                               q.get("due_within"))
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)

        def answer(found: list) -> Any:
            times = [datetime.fromisoformat(i["as_of"]) for i in found
                     if "as_of" in i and i["as_of"] is not None]
            return web.json(due_list([i for i in found if "as_of" not in i],
                                     latest(times), wanted))

        return await self.gather(web, request, local, answer)

    def partition_of(self, unit_id: str) -> int:
        return partition_for(unit_id.encode(), self.settings.partitions)

    async def by_units(self, request, unit_ids: list[str], path: str,
                       local: Callable[[str], Any]) -> dict[str, Any]:
        """Each unit's page: ``local(unit_id)`` for the units whose partition this worker
        owns, ``path`` (with the unit id) asked of each other unit's owner."""
        from urllib.parse import quote

        from faust.web.exceptions import ServiceUnavailable

        mine, found, remote = set(self.active_partitions()), {}, []
        for unit_id in unit_ids:
            if self.partition_of(unit_id) in mine:
                if (value := local(unit_id)) is not None:
                    found[unit_id] = value
            else:
                remote.append(unit_id)

        async def ask(unit_id: str):
            try:
                owner = self.app.router.key_store(self.state_table.name, unit_id)
            except KeyError:
                raise ServiceUnavailable() from None
            target = URL(str(owner)).with_path(path.format(quote(unit_id, safe="")),
                                               encoded=True)
            async with self.app.http_client.get(target, headers=_auth(request)) as answer:
                if answer.status == 404:
                    return unit_id, None
                if answer.status != 200:
                    raise ServiceUnavailable()
                return unit_id, json.loads(await answer.read())

        for unit_id, value in await asyncio.gather(*(ask(u) for u in remote)):
            if value is not None:
                found[unit_id] = value
        return found

    async def _ask(self, url, request) -> list:
        from faust.web.exceptions import ServiceUnavailable

        target = URL(str(url)).with_path(request.path).with_query(
            {**request.query, "local": "1"})
        async with self.app.http_client.get(target, headers=_auth(request)) as answer:
            if answer.status != 200:
                raise ServiceUnavailable()  # rebalancing, most likely: ask again
            return json.loads(await answer.read())["local"]


def _auth(request) -> dict[str, str]:
    """The request's credentials, passed on to the worker asked in its stead."""
    return {k: v for k, v in request.headers.items() if k.lower() == "authorization"}


def build(service: Service, settings: Settings, quiet: generations.Quiet | None = None):
    """The faust app of ``service``."""
    return Worker(service, settings, quiet).app



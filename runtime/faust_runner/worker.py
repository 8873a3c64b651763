"""One service of the system as a faust worker hosts it (``runtime.faust_runner.host``: the app,
its agents, its generation): the service's flow, tables, stores, gauges and pages.

State is one faust table co-partitioned with the inbound topic (``state``: a unit's state in
its partition) and, for a service with a cross-partition side, a one-partition table
(``side``); a host of every service names them ``<service>-state`` and ``<service>-side``. The
service's declared views are its pages (``runtime.faust_runner.serving``: routing by unit, a
scatter-gather over the workers of the group); its ``serve`` adds what only a worker has,
gauges and timers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from yarl import URL

from kernel.topology import Service, Store
from runtime.config.settings import Settings
from runtime.faust_runner import policy_watch
from runtime.faust_runner.app import table
from runtime.faust_runner.observe import Progress
from runtime.faust_runner.serving import serve_views
from runtime.faust_runner.stores import Clocks, PartitionTimes, Seen, Values
from runtime.faust_runner.units import Index, Timelines, Units
from runtime.plumbing import logs
from runtime.plumbing.kafka import partition_for


def make_store(store: Store, tbl, settings: Settings, made: dict, times: PartitionTimes):
    """The faust store of a declared one; ``made``: the stores made before it (a derived
    store's ``of``); ``times``: each partition's clock and stream time."""
    cached = settings.state_cache_entries
    if store.kind == "units":
        return Units(tbl, store.name, store.value_type,
                     dict(zip(store.entities, store.entity_types)), cached)
    if store.kind == "timelines":
        return Timelines(made[store.of], store.derive, times)
    if store.kind == "seen":
        return Seen(tbl, store.name, cached, made.get(store.of), store.derive)
    if store.kind == "index":
        return Index(made[store.of], store.field, store.derive)
    if store.kind == "custom":
        return store.value_type(tbl, store.name, cached)
    return Values(tbl, store.name, store.value_type, cached)


STATE, SIDE = "state", "side"  # a service's tables


def table_name(service: str, kind: str, alone: bool) -> str:
    """``kind`` (``STATE``, ``SIDE``) of ``service``'s tables: so named when the service is
    alone in its app, ``<service>-<kind>`` beside others (``inspections run all``)."""
    return kind if alone else f"{service}-{kind}"


class Worker:
    """One service hosted by a ``Host`` (``runtime.faust_runner.host``): its flow, its tables
    (``state``, and ``side`` for a service with a cross-partition side; prefixed with the
    service's name when the host has several), its stores, gauges and pages (under
    ``prefix``)."""

    def __init__(self, host, service: Service, prefix: str = "", past=None) -> None:
        self.host, self.service, self.prefix = host, service, prefix
        self.settings = settings = host.settings
        self.app, self.quiet, self.topics = host.app, host.quiet, host.topics
        self.events_topic = host.events_topic
        self.log = logs.get(f"services.{service.name}")
        self.flow = service.flow(settings)
        alone = not prefix
        self.state_table = table(self.app, settings, table_name(service.name, STATE, alone))
        self.side_table = (table(self.app, settings, table_name(service.name, SIDE, alone), 1)
                           if service.stores_of(partitioned=False) else None)
        # Each inbound partition's gate clock (``runtime.handling.partition_clock``) and
        # stream time, written together once a batch.
        self.times = PartitionTimes(self.state_table)
        self.clock = Clocks(self.times)
        self.stores: dict = {}
        for s in service.stores:
            self.stores[s.name] = make_store(
                s, self.state_table if s.partitioned else self.side_table, settings, self.stores,
                self.times)
        # What it processed, counted under its own name (the host's progress says how far).
        self.progress = (host.observer.progress if host.observer.service == service.name
                         else Progress(service.name))
        self.gauges: Callable[[list[int], bool], None] | None = None
        serve_views(self, service, past)
        if service.serve is not None:
            service.serve(self)
        self._stream_time_page()
        policy_watch.attach(self)

    def page(self, path: str, name: str | None = None):
        """``app.page`` of one of this service's pages (under the worker's prefix)."""
        return self.app.page(self.prefix + path, name=name)

    def set_gauges(self) -> None:
        if self.gauges is not None:
            self.gauges(self.active_partitions(), self.owns_side())

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

    # -- pages -------------------------------------------------------------------------------
    def by_unit(self, match_info: str = "unit_id"):
        """A page for one unit: answered by the worker that owns the unit's partition."""
        return self._routed(self.state_table, lambda request: request.match_info[match_info])

    def on_side(self):
        """A page over the cross-partition side: answered by the worker that owns it."""
        return self._routed(self.side_table, lambda request: "side")

    def _routed(self, table, key_of: Callable[[Any], str]):
        """faust's ``table_route``, but the caller's token goes to a member of this deployment
        only (faust's passes every header to whatever URL the group advertises), and one hop
        at most: two workers that each take the other for the owner during a rebalance would
        pass the request back and forth."""
        from functools import wraps

        from faust.web.exceptions import ServiceUnavailable

        def decorate(fun):
            @wraps(fun)
            async def get(view, request, *args, **kwargs):
                try:
                    owner = self.app.router.key_store(table.name, key_of(request))
                except KeyError:
                    raise ServiceUnavailable() from None
                if _origin(owner) == _origin(self.app.conf.canonical_url):
                    return await fun(view, request, *args, **kwargs)
                if request.headers.get(ROUTED):
                    raise ServiceUnavailable("the owner of this page is moving (a rebalance)"
                                             ": ask again")
                target = URL(str(owner)).with_path(request.rel_url.raw_path, encoded=True
                                                   ).with_query(request.query)
                status, body, kind = await self._fetch(target, request)
                return view.web.bytes(body, content_type=kind, status=status)

            return get

        return decorate

    async def _member(self, url) -> None:
        """A ServiceUnavailable, logged, for a worker that is not a member of this deployment
        (``webauth.Peers``): it is not asked, and the caller's token does not go there."""
        from faust.web.exceptions import ServiceUnavailable

        from runtime.plumbing import webauth

        if getattr(self, "_peers", None) is None:
            self._peers = webauth.Peers(self.settings, str(self.app.conf.canonical_url))
        if not await self._peers.admits(str(url)):
            self.log.warning("worker not asked: not a member of this deployment", url=str(url))
            raise ServiceUnavailable(f"the worker at {url} is not a member of this deployment "
                                     "(INSPECTIONS_WEB_PEERS): it was not asked")

    async def _fetch(self, target: URL, request) -> tuple[int, bytes, str]:
        """Another worker's answer to ``target`` (status, body, content type), asked with the
        caller's credentials once it is known for a member; a ServiceUnavailable when it does
        not answer in time."""
        import aiohttp
        from faust.web.exceptions import ServiceUnavailable

        from runtime.plumbing.http import ASK_S

        await self._member(target.origin())
        try:
            async with self.app.http_client.get(
                    target, headers={**_auth(request), ROUTED: "1"},
                    timeout=aiohttp.ClientTimeout(total=ASK_S)) as answer:
                return answer.status, await answer.read(), answer.content_type
        except (aiohttp.ClientError, asyncio.TimeoutError):
            raise ServiceUnavailable(f"the worker at {target.origin()} did not answer: ask "
                                     "again") from None

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
            for url in others:  # none asked unless every one may be
                await self._member(url)
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

        @self.page("/stream-time")
        async def stream_time(web, request):
            def local(partitions: list[int]) -> list:
                return [[p, None if (t := timelines.get(p)) is None or t.stream_time is None
                         else t.stream_time.isoformat()] for p in partitions]

            return await self.gather(web, request, local, lambda found: web.json(
                {"partitions": {str(p): t for p, t in sorted(found)}}))

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
            status, body, _ = await self._fetch(target, request)
            if status == 404:
                return unit_id, None
            if status != 200:
                raise ServiceUnavailable(f"the worker at {target.origin()} answered {status}")
            try:
                return unit_id, json.loads(body)
            except ValueError:
                raise ServiceUnavailable(f"the worker at {target.origin()} answered no JSON"
                                         ) from None

        for unit_id, value in await asyncio.gather(*(ask(u) for u in remote)):
            if value is not None:
                found[unit_id] = value
        return found

    async def _ask(self, url, request) -> list:
        from faust.web.exceptions import ServiceUnavailable

        target = URL(str(url)).with_path(request.rel_url.raw_path, encoded=True).with_query(
            {**request.query, "local": "1"})
        status, body, _ = await self._fetch(target, request)
        if status != 200:
            raise ServiceUnavailable()  # rebalancing, most likely: ask again
        try:
            return list(json.loads(body)["local"])
        except (ValueError, KeyError, TypeError):
            raise ServiceUnavailable(f"the worker at {target.origin()} answered no list"
                                     ) from None


def _auth(request) -> dict[str, str]:
    """The request's credentials, passed on to the worker asked in its stead (a member of
    this deployment: ``Worker._member``)."""
    return {k: v for k, v in request.headers.items() if k.lower() == "authorization"}


ROUTED = "Inspections-Routed"  # a request one worker passed to another: not passed on again


def _origin(url) -> tuple[str, str, int] | None:
    from runtime.plumbing import webauth

    return webauth.origin(str(url))

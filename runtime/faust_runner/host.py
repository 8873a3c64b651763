"""One faust app hosting one service of the system (``inspections run SERVICE``) or all of them
(``inspections run all``).

The host owns what is the process's: the app (its consumer group ``<prefix>-<name>``, its web
server), the generation it runs (``runtime.faust_runner.generations``), one agent per topic
read, the lock that applies one batch at a time, ``/metrics``, ``/healthz`` and ``/readyz``
(``runtime.faust_runner.observe``). Each hosted service is a ``Worker``
(``runtime.faust_runner.worker``): its flow, its tables and stores, its gauges and its pages.

Hosting every service, the inbound topic has one agent: each record goes through the gate
once and then to each service's handler in the system's order, each with its own staged
stores (a handler that fails on a record is that service's failure alone: the others apply
it). A fact that a handler of the inbound topic emits for a topic another hosted service reads
partitioned (a breach, which findings keeps for the assessment) is handed to that service's
handler in the same batch, in the record's partition, as the in-memory runner hands it over;
it is still published. Findings then reads ``inspections.breaches`` only for what was not handed
over (``handed_over``): the breaches the scheduler's campaign side derives on its one
partition, for units of any partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from time import monotonic

from kernel.topology import Read, Service
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner import faust_internals, generations
from runtime.faust_runner.app import make_app, raw_topic
from runtime.faust_runner.applying import Reader
from runtime.faust_runner.batching import batches
from runtime.faust_runner.observe import Observer
from runtime.faust_runner.stores import forget_cached_state, forget_cached_state_on_rebalance
from runtime.faust_runner.units import StateUnreadable
from runtime.faust_runner.worker import Worker
from runtime.plumbing import logs
from schemas.envelope import service_source


class Host:
    """``name``: the service's, or ``kernel.vocabulary.ALL``; ``services``: what it hosts,
    in the system's order."""

    def __init__(self, name: str, services: Sequence[Service], settings: Settings,
                 quiet: generations.Quiet | None = None, past=None) -> None:
        self.name, self.settings = name, settings
        self.services = tuple(services)
        # A generation catching up beside the live one publishes nothing the live one did.
        self.quiet = quiet or generations.Quiet(None)
        self.app = app = make_app(name, settings)
        # A batch writes each changed key once: room for a full batch's writes (a few a
        # record a service), so that the streams do not stop at every commit.
        faust_internals.producer_room(app, 10 * settings.batch_max_records * len(services))
        self.log = logs.get(f"services.{name}")
        forget_cached_state_on_rebalance(app)
        reads_contract = any(r.contract for s in services for r in s.reads)
        self.topics = {t: raw_topic(app, topics.name(settings, t))
                       for t in {*(r.topic for s in services for r in s.reads),
                                 *(w.topic for s in services for w in s.writes if w.topic),
                                 *((topics.REJECTED,) if reads_contract else ())}}
        self.events_topic = topics.name(settings, topics.EVENTS)
        # One batch at a time across the agents, from its first read to its writes: two
        # agents share a unit's state (findings reads events and breaches), and a batch that
        # read a unit before another's commit would write back a state without it.
        self.applying = asyncio.Lock()
        self._gauged = 0.0  # when a batch last set the gauges
        alone = len(self.services) == 1
        self.observer = Observer(
            app, settings, name,
            sources=sorted({topics.name(settings, r.topic) for s in services for r in s.reads}),
            gauges=self._gauges,
            publishes_rejections=any(s.publishes_rejections for s in services),
            hosted=[s.name for s in services])
        # Each service's pages under /<service> when several share the web server.
        self.workers = [Worker(self, s, "" if alone else f"/{s.name}", past)
                        for s in self.services]
        for topic, reads in self._reads().items():
            self._agent(topic, reads)
        generations.Watch(settings, name, self.quiet).attach(app)

    # -- reading -------------------------------------------------------------------------
    def _reads(self) -> dict[str, list[tuple[Worker, Read]]]:
        """Each topic read, with the hosted services' reads of it, in the system's order."""
        found: dict[str, list[tuple[Worker, Read]]] = {}
        for worker in self.workers:
            for read in worker.service.reads:
                found.setdefault(read.topic, []).append((worker, read))
        return found

    def handed_over(self, topic: str) -> list[tuple[Worker, Read]]:
        """The partitioned reads of ``topic`` by hosted services, to which a handler of the
        inbound topic hands what it emits for it (``runtime.faust_runner.applying``)."""
        return [(w, r) for w in self.workers for r in w.service.reads
                if r.topic == topic and r.partitioned and not r.contract]

    def skipped_sources(self, read: Read) -> set[str]:
        """The sources whose records of ``read``'s topic a hosted service skips: its own
        (``skip_source``), and each other hosted service's whose every fact for it was handed
        over in the batch that derived it (a service that reads nothing unpartitioned)."""
        skipped = {service_source(read.skip_source)} if read.skip_source else set()
        if read.partitioned and not read.contract:
            for worker in self.workers:
                service = worker.service
                if any(w.topic == read.topic for w in service.writes) and \
                        all(r.partitioned for r in service.reads):
                    skipped.add(service_source(service.name))
        return skipped

    def _agent(self, topic: str, reads: list[tuple[Worker, Read]]) -> None:
        reader = Reader(self, reads)
        first = reads[0][1]

        async def agent(stream):
            reader.counted_by(self.app.monitor, stream)
            async for batch in batches(stream, self.settings, self.observer.progress):
                async with self.applying:
                    try:
                        await reader.apply(batch)
                    except BaseException as error:
                        if isinstance(error, StateUnreadable):
                            self.log.error("state unreadable: the worker stops",
                                           error=str(error))
                        forget_cached_state()  # what was kept may be ahead of the tables
                        raise
                self._gauges_now()

        agent.__name__ = f"{first.handler.__name__}_{topic.rsplit('.', 1)[-1]}"
        self.app.agent(self.topics[topic], name=f"{self.name}.{agent.__name__}",
                       concurrency=1)(agent)

    # -- gauges ------------------------------------------------------------------------------
    def _gauges(self, actives) -> None:
        for worker in self.workers:
            worker.set_gauges()

    def _gauges_now(self) -> None:
        """After a batch, at most once a second (a gauge may count every open escalation; the
        metrics timer sets them too, every ``metrics_interval_s``)."""
        now = monotonic()
        if now - self._gauged >= 1.0 and self.observer.ready() is None:
            self._gauged = now
            self._gauges(None)

    def write_times(self) -> None:
        """Each hosted service's partition times, once a batch (``PartitionTimes``)."""
        for worker in self.workers:
            worker.times.write()


def build(name: str, services: Sequence[Service], settings: Settings,
          quiet: generations.Quiet | None = None, past=None):
    """The faust app hosting ``services`` as ``name``; with ``past``
    (``runtime.replay_runner.as_of.PastStates`` of the system they belong to), their views
    answer ``?as_of=`` a past time too."""
    return Host(name, services, settings, quiet, past).app

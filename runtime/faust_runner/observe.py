"""What an operator sees of a worker: ``/metrics``, ``/healthz``, ``/readyz``, the consumer lag,
per-record latencies and log context. Written once; each service's app calls ``Observer``.

faust exposes no consumer lag, so it is computed here every ``metrics_interval_s``: per
partition this worker owns, the end offset (asked of the broker) minus the next offset it will
process (the one after the last record it finished, else the group's committed offset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from time import monotonic
from time import time as wall_clock
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from runtime.config.settings import Settings
from runtime.faust_runner import faust_internals
from runtime.plumbing import logs, metrics

if TYPE_CHECKING:
    import faust

_FAUST_METRICS: dict[str, Any] = {}  # a registry takes a name once; tests build apps twice


def faust_sensors(app: "faust.App", service: str) -> None:
    """faust's own sensor metrics, named ``faust_<service>_*`` so apps never clash."""
    from faust.sensors.prometheus import FaustMetrics

    prefix = f"faust_{service}"
    if prefix not in _FAUST_METRICS:
        _FAUST_METRICS[prefix] = FaustMetrics.create(REGISTRY, prefix)
    app.monitor = _monitor_class()(metrics=_FAUST_METRICS[prefix])


def _monitor_class():
    from faust.sensors.monitor import Monitor
    from faust.sensors.prometheus import PrometheusMonitor

    class LabelsOnce(PrometheusMonitor):
        """faust's Prometheus sensor, the same metrics, with each labelled child looked up
        once (faust's called ``labels()`` several times a record, with a regex for the
        stream's label), and a record's counts kept a batch at a time (``batch``)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._labelled: dict[tuple, Any] = {}

        def _child(self, metric, *key, **labels):
            child = self._labelled.get((id(metric), *key))
            if child is None:
                child = self._labelled[(id(metric), *key)] = metric.labels(**labels)
            return child

        # A record's own hooks do nothing: faust's per-record bookkeeping (a clock read, a
        # dict or two, four metric updates each record) is done for a batch at once, when
        # it is applied (``batch``).
        def on_message_in(self, tp, offset, message) -> None:
            pass

        def on_stream_event_in(self, tp, offset, stream, event):
            return None

        def on_stream_event_out(self, tp, offset, stream, event, state=None) -> None:
            pass

        def on_message_out(self, tp, offset, message) -> None:
            pass

        def taking(self, topic: str, partitions) -> None:
            """A batch of ``partitions`` of ``topic`` is being applied: when each was last
            taken is what faust's stall check reads (``stream_inbound_time``), so a long
            catch-up is never reported as a stream that does not process."""
            from faust.types import TP

            now = monotonic()
            for partition in partitions:
                self.stream_inbound_time[TP(topic, partition)] = now

        def batch(self, topic: str, partitions: dict[int, int], records: int, stream: str,
                  seconds: float) -> None:
            """A batch of ``records`` of ``topic`` taken by the stream named ``stream``,
            ``partitions`` each partition's last offset in it, applied and committed in
            ``seconds``: the counts faust's sensor kept a record at a time, and the events'
            runtime as the batch's mean a record (observed once a batch). No record of a
            committed batch is active: those gauges stay at 0."""
            self.taking(topic, partitions)
            self.messages_received_total += records
            self.events_total += records
            m = self._metrics
            m.events_runtime_latency.observe(self.secs_to_ms(seconds / records))
            m.messages_received.inc(records)
            self._child(m.messages_received_per_topics, topic, topic=topic).inc(records)
            for partition, offset in partitions.items():
                self._child(m.messages_received_per_topics_partition, topic, partition,
                            topic=topic, partition=partition).set(offset)
            m.total_events.inc(records)
            self._child(m.total_events_per_stream, stream,
                        stream=f"stream.{stream}.events").inc(records)

        def _table_op(self, table, operation: str) -> None:
            self._child(self._metrics.table_operations, table.name, operation,
                        table=f"table.{table.name}", operation=operation).inc()

        def on_table_get(self, table, key) -> None:
            Monitor.on_table_get(self, table, key)
            self._table_op(table, self.KEYS_RETRIEVED)

        def on_table_set(self, table, key, value) -> None:
            Monitor.on_table_set(self, table, key, value)
            self._table_op(table, self.KEYS_UPDATED)

        def on_table_del(self, table, key) -> None:
            Monitor.on_table_del(self, table, key)
            self._table_op(table, self.KEYS_DELETED)

        def on_send_initiated(self, producer, topic, message, keysize, valsize):
            self._child(self._metrics.topic_messages_sent, topic,
                        topic=f"topic.{topic}").inc()
            return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

    return LabelsOnce


Partition = tuple[str, int]


def lag_by_partition(ends: dict[Partition, int | None], processed: dict[Partition, int],
                     committed: dict[Partition, int | None]) -> dict[Partition, int]:
    """Records not yet processed, per partition: the end offset minus the next offset to
    process — the one after the last record this worker finished, or the committed offset
    when that is further (nothing finished yet, or the partition was away and came back).
    Unknown ends are left out."""
    lags = {}
    for partition, end in ends.items():
        if end is None:
            continue
        start = max(processed.get(partition) or 0, committed.get(partition) or 0)
        lags[partition] = max(0, end - start)
    return lags


class Progress:
    """Where a worker's processing has got to, partition by partition, and how long its
    records waited: a batch calls ``done`` for each record once it has committed."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.next_offset: dict[tuple[str, int], int] = {}
        # Metric children by label, looked up once: ``labels()`` costs more than ``observe``.
        self._labelled: dict[tuple, Any] = {}

    def _child(self, metric, *labels):
        key = (metric, *labels)
        child = self._labelled.get(key)
        if child is None:
            child = self._labelled[key] = metric.labels(self.service, *labels)
        return child

    def processed(self, event_type: str) -> None:
        self._child(metrics.EVENTS_PROCESSED, event_type).inc()

    def done(self, message, event_time: datetime | None = None) -> None:
        self.next_offset[(message.topic, message.partition)] = message.offset + 1
        now = wall_clock()
        self._child(metrics.APPEND_LATENCY, message.topic).observe(
            max(0.0, now - message.timestamp))
        if event_time is not None:
            self._child(metrics.EVENT_TIME_LATENCY, message.topic).observe(
                max(0.0, now - event_time.timestamp()))


class Observer:
    """One per app: the pages, faust's sensors, and a timer that computes the lag of the
    ``sources`` partitions this worker owns and calls ``gauges(actives)`` to set the business
    gauges from the tables (``actives``: the (topic, partition) pairs it owns). ``service``:
    the app's name (a service's, or ``all``); ``hosted``: the services it runs."""

    def __init__(self, app: "faust.App", settings: Settings, service: str,
                 sources: Iterable[str],
                 gauges: Callable[[set[tuple[str, int]]], None] | None = None,
                 publishes_rejections: bool = False, hosted: Iterable[str] = ()) -> None:
        self.app = app
        self.service = service
        self.progress = Progress(service)
        self.sources = set(sources)
        self.gauges = gauges
        self.lag_shown: set[tuple[str, ...]] = set()
        self.log = logs.get("runtime.faust_runner.observe")
        for name in hosted or (service,):  # each service's series, under its name
            metrics.initialise(name, publishes_rejections)
        metrics.WORKER_READY.labels(service).set(0)  # the process's: one, under its name
        faust_sensors(app, service)
        self._pages()
        app.timer(interval=settings.metrics_interval_s)(self.sample)

    # -- the timer -------------------------------------------------------------------
    def actives(self) -> set[tuple[str, int]]:
        assignor = getattr(self.app, "assignor", None)
        if assignor is None:
            return set()
        return {(tp.topic, tp.partition) for tp in assignor.assigned_actives()}

    async def sample(self) -> None:
        ready = self.ready() is None
        metrics.WORKER_READY.labels(self.service).set(1 if ready else 0)
        if not ready:
            return
        actives = self.actives()
        try:
            await self._lag(actives)
        except Exception as error:  # a broker hiccup must not stop the worker
            self.log.warning("consumer lag not measured", error=str(error))
        if self.gauges is not None:
            self.gauges(actives)

    async def _lag(self, actives: set[tuple[str, int]]) -> None:
        from faust.types import TP

        tps = [TP(t, p) for t, p in sorted(actives) if t in self.sources]
        ends = await faust_internals.end_offsets(self.app, tps)
        # faust keeps the offsets it sought to and committed (the next to read), per TP.
        committed = faust_internals.committed_offsets(self.app)
        starts = {}
        for tp in tps:
            start = committed.get(tp)
            if start is None and (tp.topic, tp.partition) not in self.progress.next_offset:
                start = await self.app.consumer.position(tp)
            starts[(tp.topic, tp.partition)] = start
        lags = lag_by_partition({(tp.topic, tp.partition): end for tp, end in ends.items()},
                                self.progress.next_offset, starts)
        counts = {(self.service, t, str(p)): lag for (t, p), lag in lags.items()}
        for labels in self.lag_shown - set(counts):  # moved to another worker
            metrics.CONSUMER_LAG.remove(*labels)
        for labels, lag in counts.items():
            metrics.CONSUMER_LAG.labels(*labels).set(lag)
        self.lag_shown = set(counts)

    # -- health ----------------------------------------------------------------------
    def ready(self) -> str | None:
        """None when ready, else why not."""
        app = self.app
        if getattr(app, "rebalancing", False) or not app.consumer_generation_id:
            return "joining the consumer group"
        if not app.tables.recovery.completed.is_set():
            return "recovering tables from their changelogs"
        return None

    def _pages(self) -> None:
        app, service = self.app, self.service

        @app.page("/metrics")
        async def metrics_page(web, request):
            # aiohttp refuses a charset in content_type=, so the header goes in whole.
            return web.bytes(generate_latest(REGISTRY),
                             headers={"Content-Type": CONTENT_TYPE_LATEST})

        @app.page("/healthz")
        async def alive(web, request):
            return web.json({"service": service, "status": "alive",
                             "time": datetime.now(timezone.utc).isoformat()})

        @app.page("/readyz")
        async def ready(web, request):
            why = self.ready()
            if why is not None:
                return web.json({"service": service, "ready": False, "reason": why},
                                status=503)
            actives = sorted(tp for tp in self.actives() if tp[0] in self.sources)
            return web.json({"service": service, "ready": True,
                             "partitions": [f"{t}:{p}" for t, p in actives]})

"""A worker's batch applied record by record (``runtime.faust_runner.applying``): the gate, the
partition's clock, and a handler that fails on one record undone for that record alone, which goes
to the rejected records; the rest of the batch applied and committed, each record reported once."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from types import SimpleNamespace

from kernel import ids
from kernel.deadlines import Irregular
from kernel.topology import Read, Service, Store, Write
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner.applying import Reader
from runtime.faust_runner.batching import Batch
from runtime.faust_runner.generations import Quiet
from runtime.faust_runner.host import Host
from runtime.faust_runner.observe import Progress
from runtime.faust_runner.stores import (
    Clocks,
    PartitionTimes,
    Seen,
    Values,
    forget_cached_state,
)
from runtime.plumbing import logs, metrics
from tests.examples import event
from tests.unit.fake_faust import Event, Message
from tests.unit.support import Table


@dataclass(frozen=True)
class Noted:
    event_id: str
    unit_id: str


class Flow:
    """Counts each unit's events and notes each; raises on a finding described "boom" after
    it has changed its state and emitted (so that there is something to undo)."""

    def __init__(self, settings) -> None:
        self.irregular = Irregular()
        self.heard: list[dict] = []

    def on_event(self, ctx, ev) -> None:
        self.heard.append(logs.bound_fields())
        if ctx.seen(ev.id):
            self.irregular.count("duplicate")
            return
        counts = ctx.store("counts")
        counts[ev.subject] = counts.get(ev.subject, 0) + 1
        ctx.emit(Noted(ev.id, ev.subject))
        if ev.type == "finding.recorded" and ev.data.description == "boom":
            raise RuntimeError("boom")

    def on_noted(self, ctx, value) -> None:
        if value == "boom":
            raise ValueError("boom")
        counts = ctx.store("counts")
        counts["internal"] = counts.get("internal", 0) + 1


REPORTED: list[str] = []


def _service(publishes_rejections: bool = False) -> Service:
    return Service(
        name="probe",
        reads=(Read(topics.EVENTS, Flow.on_event, contract=True),
               Read(topics.SCHEDULER_PROGRESS, Flow.on_noted,
                    decode=lambda raw: json.loads(raw)["values"])),
        writes=(Write(Noted, topics.ESCALATIONS,
                      encode=lambda n, service: {"id": n.event_id, "unit": n.unit_id},
                      key=lambda n: n.unit_id.encode(),
                      report=lambda n, service: REPORTED.append(n.event_id)),),
        stores=(Store("counts", "values", value_type=int), Store("seen", "seen")),
        flow=Flow, publishes_rejections=publishes_rejections)


class Topic:
    """A faust topic as an outbox uses it; what is sent is kept by topic."""

    def __init__(self, name: str, sent: dict) -> None:
        self.name, self.sent = name, sent
        self.app = self.producer = self

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, topic, key, value, partition, timestamp, headers):
        self.sent.setdefault(topic, []).append((key, value))
        answered = asyncio.get_running_loop().create_future()
        answered.set_result(None)
        return answered


def _worker(service: Service, limit: str = "48h", table: Table | None = None,
            sent: dict | None = None, host=None):
    """A worker of ``service`` (its stores over ``table``), alone in a host of its own unless
    ``host`` is given (then one more service of it)."""
    table = Table() if table is None else table
    settings = Settings(max_time_ahead=limit)
    sent = {} if sent is None else sent
    flow = service.flow(settings)
    times = PartitionTimes(table)
    if host is None:
        host = SimpleNamespace(
            name=service.name, settings=settings, quiet=Quiet(None), workers=[],
            observer=SimpleNamespace(progress=Progress(service.name)),
            topics={t: Topic(t, sent) for t in (topics.EVENTS, topics.ESCALATIONS,
                                                topics.REJECTED, topics.SCHEDULER_PROGRESS)})
        host.write_times = partial(Host.write_times, host)
        host.handed_over = partial(Host.handed_over, host)
        host.skipped_sources = partial(Host.skipped_sources, host)
    worker = SimpleNamespace(
        service=service, flow=flow, settings=settings, sent=sent, table=table, host=host,
        stores={"counts": Values(table, "counts", int), "seen": Seen(table, "seen")},
        times=times, clock=Clocks(times), progress=host.observer.progress
        if not host.workers else Progress(service.name),
        observer=host.observer, log=logs.get("tests.applying"), quiet=host.quiet,
        topics=host.topics)
    host.workers.append(worker)
    return worker


def _record(offset: int, body: dict | bytes, key: bytes | None = b"changtai",
            appended: str = "2026-05-01T12:00:00+08:00") -> Event:
    value = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = datetime.fromisoformat(appended).timestamp()
    return Event(Message(key, 0, offset, value=value, timestamp=stamp))


def _finding(event_id: str, description: str = "a finding") -> dict:
    found = event("finding.recorded", id=event_id)
    found["data"]["description"] = description
    return found


def _apply(worker, read_index: int, records: list) -> Batch:
    forget_cached_state()
    batch = Batch(records, worker.observer.progress)
    topic = worker.service.reads[read_index].topic
    reads = [(w, r) for w in worker.host.workers for r in w.service.reads if r.topic == topic]
    asyncio.run(Reader(worker.host, reads).apply(batch))
    return batch


def _rejected(worker) -> list[dict]:
    return [json.loads(v)["data"] for _, v in worker.sent.get(topics.REJECTED, [])]


def test_a_failing_record_is_undone_rejected_by_its_service_and_the_rest_applied():
    REPORTED.clear()
    worker = _worker(_service())
    before = metrics.RECORDS_REJECTED.labels("processing_failed")._value.get()
    records = [_record(0, event("visit.started", id="a")),
               _record(1, _finding("b", "boom")),
               _record(2, event("visit.started", id="c", subject="pinghe",
                                data={"visit_id": "v", "unit_id": "pinghe"}), key=b"pinghe"),
               _record(3, b"not json"),
               _record(4, event("visit.started", id="a"))]  # a duplicate of the first
    _apply(worker, 0, records)
    counts = worker.stores["counts"]
    assert (counts["changtai"], counts["pinghe"]) == (1, 1)  # b's count undone
    sent = [json.loads(v)["id"] for _, v in worker.sent[topics.ESCALATIONS]]
    assert sent == ["a", "c"]  # what b emitted before it raised is not sent
    rejected = _rejected(worker)
    assert [(r["offset"], r["cause"]) for r in rejected] == [(1, "processing_failed")]
    assert "RuntimeError: boom" in rejected[0]["reason"]
    wire = json.loads(worker.sent[topics.REJECTED][0][1])
    assert wire["id"] == ids.rejection_event_id("inspections.events", 0, 1, "probe")
    assert wire["source"] == "urn:inspections:service:probe"
    assert REPORTED == ["a", "c"]  # each applied record reported once, however many attempts
    after = metrics.RECORDS_REJECTED.labels("processing_failed")._value.get()
    assert after == before + 1
    assert worker.observer.progress.next_offset == {("inspections.events", 0): 5}
    # The failed record left no id behind: sent again, mended, it is applied.
    _apply(worker, 0, [_record(5, _finding("b"))])
    assert worker.stores["counts"]["changtai"] == 2


def test_several_failures_in_one_batch_each_rejected_once_in_order():
    worker = _worker(_service())
    records = [_record(n, _finding(f"f{n}", "boom" if n % 2 else "fine")) for n in range(6)]
    _apply(worker, 0, records)
    assert [r["offset"] for r in _rejected(worker)] == [1, 3, 5]
    assert worker.stores["counts"]["changtai"] == 3


def test_the_service_that_publishes_rejections_rejects_what_the_gate_and_the_clock_refuse():
    worker = _worker(_service(publishes_rejections=True))
    records = [_record(0, b"not json"),
               _record(1, event("visit.started", id="far", time="2026-05-10T12:00:00+08:00")),
               _record(2, event("visit.started", id="near", time="2026-05-02T12:00:00+08:00")),
               # Now the partition's clock is 2 May: two days on from it is in time.
               _record(3, event("visit.started", id="next", time="2026-05-04T12:00:00+08:00"))]
    _apply(worker, 0, records)
    assert [(r["offset"], r["cause"]) for r in _rejected(worker)] == [
        (0, "not_json"), (1, "too_far_ahead")]
    assert "more than 2 days ahead" in _rejected(worker)[1]["reason"]
    assert worker.stores["counts"]["changtai"] == 2
    # Read back from the table: the clock, and no stream time (the service keeps none).
    assert PartitionTimes(worker.table).get(0) == (
        datetime.fromisoformat("2026-05-04T12:00:00+08:00"), None)


def test_a_longer_span_admits_a_year_ahead():
    worker = _worker(_service(publishes_rejections=True), limit="400d")
    _apply(worker, 0, [_record(0, event("visit.started", time="2027-04-01T12:00:00+08:00"))])
    assert _rejected(worker) == [] and worker.stores["counts"]["changtai"] == 1


def test_every_log_line_of_an_event_carries_its_id_type_unit_and_place():
    worker = _worker(_service())
    _apply(worker, 0, [_record(7, event("visit.started", id="a"))])
    heard = worker.flow.heard[0]
    assert heard["event_id"] == "a" and heard["type"] == "visit.started"
    assert heard["unit"] == "changtai" and heard["partition"] == 0 and heard["offset"] == 7
    assert "correlation_id" in heard and heard["topic"] == "inspections.events"
    assert not {"event_id", "offset", "partition"} & set(logs.bound_fields())


def test_an_internal_record_unreadable_or_failing_is_skipped_and_counted():
    worker = _worker(_service())

    def skipped(cause):
        return metrics.RECORDS_SKIPPED.labels(
            "probe", "inspections.scheduler.progress", cause)._value.get()

    before = skipped("unreadable"), skipped("processing_failed")
    records = [Event(Message(None, 0, n, value=value, topic="inspections.scheduler.progress"))
               for n, value in enumerate([b'{"values": ["x"]}', b"[}", b'{"values": 3}',
                                          b'{"values": ["y", "boom", "z"]}'])]
    _apply(worker, 1, records)
    assert worker.stores["counts"]["internal"] == 3  # x, y, z
    assert (skipped("unreadable"), skipped("processing_failed")) == (before[0] + 2,
                                                                     before[1] + 1)
    assert topics.REJECTED not in worker.sent  # an internal record is not a rejection


# -- one host of several services (``inspections run all``) ---------------------------------------
@dataclass(frozen=True)
class Heard:
    event_id: str
    source: str


class Keeper:
    """Counts every event, and each ``Noted`` it hears of (handed over, or read)."""

    def __init__(self, settings) -> None:
        self.irregular = Irregular()

    def on_event(self, ctx, ev) -> None:
        counts = ctx.store("counts")
        counts["events"] = counts.get("events", 0) + 1

    def on_noted(self, ctx, heard: Heard) -> None:
        counts = ctx.store("counts")
        counts[f"heard {heard.event_id}"] = counts.get(f"heard {heard.event_id}", 0) + 1


KEEPER = Service(
    name="keeper",
    reads=(Read(topics.EVENTS, Keeper.on_event, contract=True),
           Read(topics.ESCALATIONS, Keeper.on_noted,
                decode=lambda raw: [Heard(json.loads(raw)["id"], json.loads(raw)["source"])],
                take=lambda noted, source: Heard(noted.event_id, source))),
    writes=(), stores=(Store("counts", "values", value_type=int),), flow=Keeper)


def test_one_host_of_two_services_gates_once_fails_per_service_and_hands_over():
    REPORTED.clear()
    probe = _worker(_service(publishes_rejections=True))
    keeper = _worker(KEEPER, sent=probe.sent, host=probe.host)
    _apply(probe, 0, [_record(0, event("visit.started", id="a")),
                      _record(1, _finding("b", "boom")),
                      _record(2, b"not json")])
    # The gate once: the unreadable record rejected once, by the service that publishes them;
    # the record that failed in the probe rejected by the probe alone.
    assert [(r["offset"], r["cause"]) for r in _rejected(probe)] == [
        (1, "processing_failed"), (2, "not_json")]
    assert {json.loads(v)["source"] for _, v in probe.sent[topics.REJECTED]} == {
        "urn:inspections:service:probe"}
    # The keeper applied both events, the one the probe failed on too.
    assert keeper.stores["counts"]["events"] == 2
    assert probe.stores["counts"]["changtai"] == 1
    # What the probe emitted for a topic the keeper reads was handed over in the batch (and
    # sent); what it emitted for the record it failed on went nowhere.
    assert keeper.stores["counts"]["heard a"] == 1
    assert "heard b" not in keeper.stores["counts"]
    assert [json.loads(v)["id"] for _, v in probe.sent[topics.ESCALATIONS]] == ["a"]
    assert REPORTED == ["a"]
    # Read from the topic, the probe's own are skipped (handed over already); another's not.
    _apply(keeper, 1, [
        Event(Message(b"changtai", 0, n, topic=topics.ESCALATIONS, value=json.dumps(
            {"id": ident, "source": f"urn:inspections:service:{source}"}).encode()))
        for n, (ident, source) in enumerate([("a", "probe"), ("x", "elsewhere")])])
    assert keeper.stores["counts"]["heard a"] == 1
    assert keeper.stores["counts"]["heard x"] == 1


def test_a_handover_that_fails_is_skipped_and_the_record_applied_everywhere_else():
    probe = _worker(_service())
    keeper = _worker(KEEPER, host=probe.host)

    def failing(self, ctx, heard):
        raise ValueError("cannot keep it")

    failing_keeper = _worker(replace(KEEPER, name="failing", reads=(
        KEEPER.reads[0], replace(KEEPER.reads[1], handler=failing))), host=probe.host)
    skipped = metrics.RECORDS_SKIPPED.labels("failing", "inspections.events",
                                             "processing_failed")
    before = skipped._value.get()
    _apply(probe, 0, [_record(0, event("visit.started", id="a"))])
    assert probe.stores["counts"]["changtai"] == 1
    assert keeper.stores["counts"]["heard a"] == 1
    assert failing_keeper.stores["counts"]["events"] == 1
    assert "heard a" not in failing_keeper.stores["counts"]
    assert skipped._value.get() == before + 1
    assert _rejected(probe) == []

"""Every service reads through the one gate; only the one given ``on_rejected`` reports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from runtime import metrics
from runtime.batching import Batch
from runtime.intake import accepted
from runtime.observe import Progress
from tests.examples import raw


@dataclass
class Message:
    key: bytes | None
    value: bytes
    partition: int = 0
    offset: int = 0
    topic: str = "inspections.events"
    timestamp: float = 1_700_000_000.0


@dataclass
class Item:
    message: Message


def batch_of(messages, progress) -> Batch:
    """A batch as a faust agent gets it: events, each with its ``message``."""
    return Batch([Item(m) for m in messages], progress)


MESSAGES = [
    Message(b"changtai", raw("visit.started"), offset=0),
    Message(b"changtai", b"garbage", offset=1),
    Message(None, raw("clock.ticked"), offset=2),
    Message(b"pinghe", raw("visit.started"), offset=3),  # key is not the subject
]


def _run(on_rejected=None, service="findings"):
    progress = Progress(service)
    batch = batch_of(MESSAGES, progress)
    got = [(m.offset, e.type) for m, e in accepted(batch, progress, on_rejected)]
    assert progress.next_offset == {}  # nothing is done before the batch commits
    asyncio.run(batch.commit())
    # Rejected or not, every record counts as done for the lag.
    assert progress.next_offset == {("inspections.events", 0): len(MESSAGES)}
    return got


def test_a_service_without_the_gate_duty_skips_bad_records_silently():
    before = metrics.EVENTS_PROCESSED.labels("findings", "visit.started")._value.get()
    assert _run() == [(0, "visit.started"), (2, "clock.ticked")]
    after = metrics.EVENTS_PROCESSED.labels("findings", "visit.started")._value.get()
    assert after == before + 1


def test_the_gate_service_hears_of_each_rejection_once_in_order():
    heard = []

    def on_rejected(message, rejection):
        heard.append((message.offset, rejection.cause))

    assert _run(on_rejected, service="scheduler") == [(0, "visit.started"), (2, "clock.ticked")]
    assert heard == [(1, "not_json"), (3, "wrong_key")]

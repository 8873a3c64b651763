"""A record a service's rules fail on leaves nothing behind, in memory as on a worker: the
in-memory runner (replay, verify) undoes what the record changed in that service's stores,
which must leave them exactly as if the service had never seen the record; the other services
apply it as usual, and the failure is that service's rejection."""

from __future__ import annotations

import json
from dataclasses import replace

from kernel.topology import System
from runtime.config.settings import Settings
from runtime.memory_runner.memory import Memory
from runtime.plumbing.kafka import Record
from services import SYSTEM
from tests.faults.failing_worker import MARK
from tests.golden.inputs import seed


def failing(handler):
    """The service's inbound handler, failing on a marked event once it has done everything
    it does with it (the worst case: all of it to undo)."""

    def handle(flow, ctx, event) -> None:
        handler(flow, ctx, event)
        if getattr(event.data, "description", None) == MARK:
            raise RuntimeError("failed after doing everything (the test's)")

    return handle


def skipping(handler):
    """The service's inbound handler, never seeing a marked event."""

    def handle(flow, ctx, event) -> None:
        if getattr(event.data, "description", None) != MARK:
            handler(flow, ctx, event)

    return handle


def _marked(records: list[Record], every: int) -> list[Record]:
    """The seed campaign with every ``every``-th finding marked."""
    out, n = [], 0
    for r in records:
        body = json.loads(r.value) if r.value else None
        if body and body.get("type") == "finding.recorded":
            n += 1
            if n % every == 0:
                body["data"]["description"] = MARK
                r = replace(r, value=json.dumps(body, ensure_ascii=False).encode())
        out.append(r)
    return out


def _run(records, wrapper, service: str):
    system = System(tuple(
        replace(s, reads=tuple(replace(r, handler=wrapper(r.handler)) if r.contract else r
                               for r in s.reads))
        if s.name == service else s for s in SYSTEM))
    out: list = []
    memory = Memory(system, Settings(), out=lambda topic, event: out.append((topic, event)))
    memory.run(records)
    return memory, out


def _state(memory: Memory, service: str) -> dict:
    stores = memory.stores(service)
    found = {}
    for name, store in stores.items():
        if name == "timelines":
            found[name] = {p: (t.stream_time, t.pending) for p, t in store.items()}
        else:
            found[name] = dict(store.items())
    seen = memory.running[service].seen
    found["seen"] = {k: set(v) for k, v in seen.items()}
    return found


def test_a_failed_record_leaves_a_service_as_if_it_had_never_seen_it():
    records = _marked(seed(), every=7)
    for service in ("escalation", "findings", "scheduler"):
        failed, out = _run(records, failing, service)
        skipped, out_skipped = _run(records, skipping, service)
        rejected = [e for t, e in out if e["type"] == "record.rejected"]
        kept = [e for t, e in out if e["type"] != "record.rejected"]
        assert _state(failed, service) == _state(skipped, service), service
        assert kept == [e for t, e in out_skipped if e["type"] != "record.rejected"], service
        for other in {"escalation", "findings", "scheduler"} - {service}:
            assert _state(failed, other) == _state(skipped, other), (service, other)
        marked = sum(1 for r in records if r.value and MARK.encode() in r.value)
        assert len(rejected) == marked > 3, service
        assert {e["data"]["cause"] for e in rejected} == {"processing_failed"}
        assert {e["source"] for e in rejected} == {f"urn:inspections:service:{service}"}

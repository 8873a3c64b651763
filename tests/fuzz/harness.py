"""Records through the gate and all three services in memory (the same runner replay uses),
and what must hold whatever they were: nothing raises, no handler fails, every record is
accepted or rejected with a reason under the cap, every derived event is the contract's, and
the stores stay readable (every view is made, every state value goes through the worker's
codec and fits a changelog record)."""

from __future__ import annotations

import json
from datetime import datetime

import orjson

from inspections.asking.due import from_memory as due_in_memory
from kernel.vocabulary import BROADCAST, PROCESSING_FAILED
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner.stores import Codec
from runtime.memory_runner.memory import Memory
from runtime.memory_runner.reading import views_of
from runtime.plumbing.kafka import Record
from schemas.derived import DERIVED
from schemas.gate import CAUSES, REASON_MAX
from services import SYSTEM
from tests.fuzz.records import followups, scenario

PERMISSIVE = Settings(partitions=1, max_time_ahead="36525d")  # far-future times reach the rules
STRICT = Settings(partitions=1)


def _encoded(body: dict) -> tuple[bytes | None, bytes, int]:
    key = None if body["type"] in BROADCAST else body["subject"].encode()
    return key, json.dumps(body, ensure_ascii=False).encode(), _ms(body["time"])


def _ms(time: str) -> int:
    return int(datetime.fromisoformat(time).timestamp() * 1000)


def run(records: list[tuple[bytes | None, bytes]], settings: Settings = STRICT):
    """The scenario, then ``records`` (appended as the scenario's last), then its follow-ups:
    what the services derived (by topic) and the runner."""
    out: list[tuple[str, dict]] = []
    memory = Memory(SYSTEM, settings, out=lambda topic, event: out.append((topic, event)))
    log = [_encoded(b) for b in scenario()]
    appended = log[-1][2]
    log += [(key, value, appended) for key, value in records]
    log += [_encoded(b) for b in followups()]
    last = 0
    for offset, (key, value, ms) in enumerate(log):
        last = max(last, ms)  # a log's append times never go back
        memory.feed(Record(topics.EVENTS, 0, offset, last, key, value))
    return out, memory


def check(out: list[tuple[str, dict]], memory: Memory, settings: Settings) -> None:
    for topic, event in out:
        orjson.dumps(event)  # UTF-8 whatever the record held
        DERIVED[event["type"]].model_validate(event)
        if topic == topics.REJECTED:
            data = event["data"]
            assert data["cause"] in CAUSES and data["cause"] != PROCESSING_FAILED, data
            assert len(data["reason"]) <= REASON_MAX
    assert memory.failures == {}
    found = views_of(memory, settings)
    json.dumps(found, ensure_ascii=False)
    due_in_memory(memory, settings)
    for service in SYSTEM:
        stores = memory.stores(service.name)
        for declared in service.stores:
            if declared.kind != "units":
                continue
            _round_trip(declared, stores[declared.name])


def _round_trip(declared, states) -> None:
    """Each unit's state as a worker writes it: its header and each entity a changelog record
    of at most the changelog's size, read back equal."""
    from kernel.frozen import evolve

    header = Codec(declared.value_type)
    entities = dict(zip(declared.entities, (Codec(t) for t in declared.entity_types)))
    for _, state in states.items():
        empty = evolve(state, **{name: {} for name in entities})
        raw = header.dumps(empty)
        assert len(raw) < topics.CHANGELOG_MAX_BYTES and header.loads(raw) == empty
        for name, codec in entities.items():
            for value in getattr(state, name).values():
                raw = codec.dumps(value)
                assert len(raw) < topics.CHANGELOG_MAX_BYTES and codec.loads(raw) == value

"""Rejected records as the tools read them: the cause found again from the original bytes,
the bytes and key kept exactly, selection by time and cause, finding by id or place."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from inspections.upstream.rejected import Rejected, find, select
from schemas.envelope import rejection_event
from schemas.gate import CAUSES
from tests.faults import bad_records


def _rejected(key, value, offset, ms=1_777_000_000_000):
    from schemas import Rejection, decode

    why = decode(value, key=key)
    assert isinstance(why, Rejection)
    return Rejected.of(json.loads(json.dumps(rejection_event(
        service="scheduler", topic="inspections.events", partition=3, offset=offset,
        timestamp_ms=ms + offset, key=key, value=value, reason=why.reason,
        cause=why.cause)))), why


def test_each_bad_record_keeps_its_bytes_key_place_and_cause():
    causes = set()
    for offset, (key, value, _) in enumerate(bad_records.records(200, seed=5, huge_ones=1)):
        r, why = _rejected(key, value, offset)
        assert (r.key, r.value) == (key, value)
        assert r.cause == why.cause and r.reason == why.reason
        assert r.place == f"inspections.events/3/{offset}"
        assert r.service == "scheduler"
        detail = r.detail()
        if value is not None:
            try:
                assert detail["value_text"] == value.decode("utf-8")
            except UnicodeDecodeError:
                assert detail["value_text"] is None
        causes.add(r.cause)
    assert causes <= set(CAUSES) and len(causes) >= 6, causes


def test_selection_by_time_and_cause_and_lookup_by_id_or_place():
    items = [_rejected(b"changtai", b"{not json", 0)[0],
             _rejected(b"changtai", b"[1, 2]", 1)[0],
             _rejected(b"changtai", b"{broken", 2)[0]]
    assert [r.offset for r in select(items, cause="not_json")] == [0, 2]
    assert [r.offset for r in select(items, since=items[1].time)] == [1, 2]
    assert find(items, items[2].id) is items[2]
    assert find(items, "inspections.events/3/1") is items[1]
    assert find(items, "nothing") is None


@pytest.mark.parametrize("when", ["2026-05-01T00:00:00+08:00"])
def test_times_are_the_broker_append_times(when):
    ms = int(datetime.fromisoformat(when).timestamp() * 1000)
    r, _ = _rejected(None, b"\xff\xfe", 0, ms=ms)
    assert r.time == datetime.fromisoformat(when) and r.cause == "not_utf8"
    assert r.detail()["value_text"] is None and r.detail()["value_base64"] == "//4="

"""The gate's first cut: bytes in, an envelope or a reason out, never an exception."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from schemas import MAX_RECORD_BYTES, Envelope, Rejection, decode, rejection_event

GOOD = {
    "specversion": "1.0", "id": "e-1", "source": "urn:inspections:team:T1",
    "type": "visit.started", "time": "2026-04-18T09:00:00+08:00", "subject": "changtai",
    "data": {"visit_id": "v", "unit_id": "changtai"}, "traceparent": "00-abc",
}


def _reason(raw: bytes) -> str:
    result = decode(raw)
    assert isinstance(result, Rejection), result
    return result.reason


def test_a_contract_envelope_passes_and_keeps_extensions():
    result = decode(json.dumps(GOOD).encode())
    assert isinstance(result, Envelope)
    assert result.dataversion == 1
    assert result.model_extra == {"traceparent": "00-abc"}


def test_each_cause_has_its_reason():
    assert _reason(b"\xff") == "not UTF-8: invalid byte at position 0"
    assert _reason(b"{").startswith("not JSON: ")
    assert _reason(b"[1]") == "not a JSON object: the record is a JSON list"
    missing = {k: v for k, v in GOOD.items() if k != "subject"}
    assert _reason(json.dumps(missing).encode()) == "subject: required, missing"
    naive = {**GOOD, "time": "2026-04-18T09:00:00"}
    assert _reason(json.dumps(naive).encode()).startswith("time: Input should have timezone")


def test_size_is_counted_in_bytes_not_characters():
    # 巡 is 3 bytes in UTF-8: a record under the limit in characters, over it in bytes.
    filler = "巡" * (MAX_RECORD_BYTES // 3 + 1)
    raw = json.dumps({**GOOD, "data": {"x": filler}}, ensure_ascii=False).encode()
    assert len(raw.decode()) < MAX_RECORD_BYTES < len(raw)
    assert _reason(raw) == f"record is {len(raw)} bytes, larger than {MAX_RECORD_BYTES} bytes"


@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(raw):
    assert isinstance(decode(raw), (Envelope, Rejection))


def test_a_rejection_has_a_deterministic_id_and_the_original_bytes():
    args = dict(service="scheduler", topic="inspections.events", partition=3, offset=17,
                timestamp_ms=1_776_000_000_000, key=b"k", value=b"\x00\x01")
    first, again = rejection_event(reason="r", **args), rejection_event(reason="r", **args)
    assert first == again
    moved = rejection_event(reason="r", **{**args, "offset": 18})
    assert moved["id"] != first["id"]
    assert first["data"]["value_base64"] == "AAE="

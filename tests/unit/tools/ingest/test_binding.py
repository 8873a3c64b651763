"""The CloudEvents HTTP binding as `POST /events` reads it: structured, batch and binary
mode as the bytes the gate judges; what is no event binding refused whole."""

from __future__ import annotations

import json
import re

import pytest
from multidict import CIMultiDict

from inspections.ingest.binding import BATCH, STRUCTURED, Unreadable, events_of
from schemas import Rejection, decode
from tests.examples import event


def _headers(**pairs) -> CIMultiDict:
    return CIMultiDict({k.replace("_", "-"): v for k, v in pairs.items()})


def test_structured_mode_publishes_the_bytes_as_they_came():
    raw = json.dumps(event("visit.started"), ensure_ascii=False).encode()
    [carried] = events_of(raw, _headers(Content_Type=f"{STRUCTURED}; charset=utf-8"))
    assert carried.raw == raw and carried.index == 0


def test_a_batch_is_each_event_on_its_own():
    events = [event("visit.started"), event("finding.recorded"), {"not": "an event"}]
    carried = events_of(json.dumps(events, ensure_ascii=False).encode(),
                        _headers(Content_Type=BATCH))
    assert [c.index for c in carried] == [0, 1, 2]
    assert [json.loads(c.raw) for c in carried] == events
    judged = [decode(c.raw) for c in carried]
    assert [isinstance(j, Rejection) for j in judged] == [False, False, True]


def test_binary_mode_reads_the_attributes_from_the_headers():
    body = event("finding.recorded")
    headers = _headers(Content_Type="application/json", ce_specversion="1.0",
                       ce_id=body["id"], ce_source=body["source"], ce_type=body["type"],
                       ce_time=body["time"], ce_subject=body["subject"],
                       ce_dataversion="1", ce_actor="%E5%BC%A0%E4%B8%89")
    [carried] = events_of(json.dumps(body["data"]).encode(), headers)
    checked = decode(carried.raw, key=body["subject"].encode())
    assert not isinstance(checked, Rejection), checked
    assert checked.actor == "张三" and checked.dataversion == 1
    assert checked.data.finding_id == body["data"]["finding_id"]


@pytest.mark.parametrize("body, headers, status, says", [
    (b"{}", {"Content_Type": "text/plain"}, 415, "send one event as"),
    (b"{}", {}, 415, "Content-Type none"),
    (b"{}", {"Content_Type": BATCH}, 400, "not a JSON array"),
    (b"[NaN]", {"Content_Type": BATCH}, 400, "not a JSON array"),
    (b"[" + b"{}," * 1000 + b"{}]", {"Content_Type": BATCH}, 413, "at most 1000 events"),
    (b"{", {"ce_specversion": "1.0", "Content_Type": "application/json"}, 400,
     "the body (the event's data) is not JSON"),
    (b"{}", {"ce_specversion": "1.0", "Content_Type": "application/xml"}, 415,
     "must be application/json"),
    (b"{}", {"ce_specversion": "1.0", "ce_id": "%ff%fe"}, 400, "not percent-encoded UTF-8"),
])
def test_what_is_no_event_is_refused_whole(body, headers, status, says):
    with pytest.raises(Unreadable, match=re.escape(says)) as caught:
        events_of(body, _headers(**headers))
    assert caught.value.status == status

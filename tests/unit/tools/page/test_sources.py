"""What the operator page reads from the breaches and rejected topics: a record that is not
what the project writes there (forged, broken, of other types) is skipped, never a reason to
read the topic again and again."""

from __future__ import annotations

import json

from inspections.page.sources import breaches, rejections
from runtime.config.settings import Settings
from tests.examples import event


def _forged() -> list[bytes]:
    good = event("deadline.breached")
    return [b"not json", b"[1]", json.dumps({**good, "source": 7}).encode(),
            json.dumps({**good, "time": 17}).encode(),
            json.dumps({**good, "data": {**good["data"], "kind": ["x"]}}).encode(),
            json.dumps({**good, "id": "x" * 1000}).encode()]


def test_a_record_that_is_no_breach_is_skipped_and_the_good_ones_kept():
    reader = breaches(Settings())
    for n, raw in enumerate(_forged()):
        reader._add(raw, (0, n))  # returns: skipped, the reading goes on
    reader._add(json.dumps(event("deadline.breached", id="b-1")).encode(), (0, 9))
    assert [b["id"] for b in reader.all()] == ["b-1"]


def test_a_record_that_is_no_rejection_is_skipped():
    reader = rejections(Settings())
    good = event("record.rejected")
    for n, raw in enumerate([b"{}", json.dumps({**good, "data": {**good["data"],
                                                                 "timestamp": 17}}).encode(),
                             json.dumps({**good, "data": 3}).encode()]):
        reader._add(raw, (0, n))
    reader._add(json.dumps({**good, "id": "r-1"}).encode(), (0, 5))
    assert [r["id"] for r in reader.all()] == ["r-1"]

"""What the rules derive from fixed inputs, byte for byte, stays what it was when the golden
digests were recorded (``tests/golden/record.py``): a refactor changes no behaviour."""

from __future__ import annotations

import json

import pytest

from tests.golden.inputs import INPUTS, digest
from tests.golden.output import canonical, digests
from tests.golden.record import DIGESTS

GOLDEN = json.loads(DIGESTS.read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_every_derived_event_and_view_is_byte_for_byte_the_golden_one(name):
    records = INPUTS[name]()
    want = GOLDEN[name]
    assert f"{digest(records)} {len(records)} records" == want["input"], (
        "the input itself changed (its generator or the scenario): not a comparison")
    got = digests(canonical(records))
    assert got == {k: v for k, v in want.items() if k != "input"}, (
        "the output differs from the golden one: `python -m tests.golden.record --out DIR` "
        "here and at the golden commit, then diff the two folders")

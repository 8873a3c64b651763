"""Hostile input, fuzzed (a fixed seed budget, the same examples every run): arbitrary bytes and
JSON through the gate; valid events of every type mutated, alone and mixed into a unit's
visit, through the gate and all three services' rules in memory (``tests.fuzz.harness``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import Envelope
from schemas.gate import CAUSES, REASON_MAX, Rejection, decode
from tests.fuzz.corpus import CASES
from tests.fuzz.harness import PERMISSIVE, STRICT, check, run
from tests.fuzz.records import json_values, raw_records

def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _decoded(value: bytes, key) -> None:
    found = decode(value, key=key)
    assert isinstance(found, (Envelope, Rejection))
    if isinstance(found, Rejection):
        assert found.cause in CAUSES and len(found.reason) <= REASON_MAX
        found.reason.encode("utf-8")  # no lone surrogate in what a person reads


@fuzz(1500)
@given(st.binary(max_size=2000), st.one_of(st.none(), st.binary(max_size=20)))
def test_arbitrary_bytes_are_accepted_or_rejected_never_raise(value, key):
    _decoded(value, key)


@fuzz(800)
@given(json_values())
def test_arbitrary_json_is_accepted_or_rejected_never_raise(value):
    _decoded(json.dumps(value).encode(), None)


@fuzz(800)
@given(raw_records())
def test_every_mutated_event_is_accepted_or_rejected_never_raise(record):
    key, value = record
    _decoded(value, key)


@fuzz(160)
@given(st.lists(raw_records(), min_size=1, max_size=4), st.sampled_from([STRICT, PERMISSIVE]))
def test_mutated_events_mixed_into_a_visit_break_no_rule(records, settings):
    out, memory = run(records, settings)
    check(out, memory, settings)


@fuzz(160)
@given(st.lists(raw_records(valid_only=True), min_size=1, max_size=4))
def test_events_at_the_contracts_edges_reach_the_rules_and_break_none(records):
    # Admitted however far ahead they are dated: the rules meet 2099 and every offset too.
    out, memory = run(records, PERMISSIVE)
    check(out, memory, PERMISSIVE)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_records_that_once_broke_something_are_rejected_or_accepted_as_they_should(case):
    found = decode(case.value, key=case.key)
    _decoded(case.value, case.key)
    out, memory = run([(case.key, case.value)])
    check(out, memory, STRICT)
    rejected = [e["data"] for topic, e in out if topic == "inspections.rejected"]
    if case.outcome == "accepted":
        assert isinstance(found, Envelope) and rejected == []
    else:
        assert [r["cause"] for r in rejected] == [case.outcome], case.broke

"""orjson's canonical JSON is the kernel's, byte for byte, for what it writes (no floats)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.codec import dumps as kernel_dumps
from runtime.plumbing.canonical import dumps

text = st.text(st.characters(blacklist_categories=("Cs",)))
scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(text, inner, max_size=4), max_leaves=20)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(text, values, max_size=8))
def test_orjsons_bytes_are_the_kernels(obj):
    assert dumps(obj) == kernel_dumps(obj)


def test_a_derived_event_of_each_type_is_the_same_bytes():
    from tests.examples import event

    for kind in ("escalation.raised", "escalation.escalated", "deadline.breached",
                 "record.rejected"):
        body = event(kind)
        assert dumps(body) == kernel_dumps(body)

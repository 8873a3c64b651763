"""The deadline index: a heap with lazy deletion, held to a sorted list's answers."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.deadlines import Deadline, Timeline

T0 = datetime.fromisoformat("2026-04-20T00:00:00+08:00")


@st.composite
def operations(draw):
    ops = []
    for _ in range(draw(st.integers(1, 120))):
        kind = draw(st.sampled_from(["open", "open", "close", "due", "expire"]))
        ident = f"d{draw(st.integers(0, 15))}"
        hours = draw(st.integers(0, 48))
        ops.append((kind, ident, hours))
    return ops


@settings(max_examples=200, deadline=None)
@given(operations())
def test_the_heap_answers_as_a_sorted_list_of_the_open_deadlines_would(ops):
    timeline = Timeline().track()
    model: dict[str, Deadline] = {}
    for kind, ident, hours in ops:
        t = T0 + timedelta(hours=hours)
        if kind == "open":  # opening an open id again replaces it
            deadline = Deadline(t, ident, "unit")
            timeline.apply(open=(deadline,))
            model[ident] = deadline
        elif kind == "close":
            timeline.apply(close=(ident,))
            model.pop(ident, None)
        elif kind == "due":
            earliest = min(model.values(), default=None)
            want = earliest if earliest is not None and earliest.due < t else None
            assert timeline.next_due_before(t) == want
        else:  # the deadline loop: close what is due, earliest first
            while (due := timeline.next_due_before(t)) is not None:
                assert due == min(model.values())
                timeline.apply(close=(due.deadline_id,))
                del model[due.deadline_id]
        assert timeline.pending == tuple(sorted(model.values()))
        assert len(timeline) == len(model)


def test_the_journal_says_what_changed_since_it_was_drained():
    d1, d2 = Deadline(T0, "d1", "u"), Deadline(T0 + timedelta(hours=1), "d2", "u")
    timeline = Timeline(T0, (d1,)).track()
    timeline.apply(open=(d2,), close=("d1",))
    timeline.move_to(T0 + timedelta(minutes=1))
    timeline.move_to(T0)  # time never moves back
    assert timeline.drain() == (True, {"d1": None, "d2": d2})
    assert timeline.drain() == (False, {})
    assert timeline.stream_time == T0 + timedelta(minutes=1)


def test_stale_entries_are_swept_when_they_outnumber_the_open_ones():
    timeline = Timeline()
    for n in range(1_000):  # re-opened over and over: one open, many stale entries
        timeline.apply(open=(Deadline(T0 + timedelta(seconds=n), "same", "u"),))
    assert len(timeline) == 1 and len(timeline._heap) < 100
    assert timeline.next_due_before(T0 + timedelta(days=1)).due == T0 + timedelta(seconds=999)

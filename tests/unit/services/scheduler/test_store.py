"""The campaign side's table store: the flow's whole values, kept a key per part."""

from __future__ import annotations

from hypothesis import given, settings

from services.scheduler.store import CampaignStore
from tests.unit.services.scheduler.support import Run, ids_of, plan, scenarios, tick, visit
from tests.unit.tables import NotingTable

P = b"campaigns\x1f"  # the store's keys start with its name


def _contents(store) -> dict:
    return {key: store[key] for key in store}


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_the_store_in_parts_holds_what_a_whole_value_store_holds(scenario):
    partitions, lists = scenario
    table = NotingTable()
    plain, parted = Run(partitions=partitions), Run(partitions=partitions,
                                                    store=CampaignStore(table))
    for run in (plain, parted):
        for p, events in lists.items():
            run.feed(*events, partition=p)
    assert ids_of(parted.breaches) == ids_of(plain.breaches)
    assert _contents(parted.store) == plain.store
    # Read back from the table alone, as after a restart or a rebalance.
    assert _contents(CampaignStore(table)) == plain.store


def test_a_visit_end_writes_that_units_completion_and_a_midnight_one_new_mark():
    table = NotingTable()
    run = Run(partitions=1, store=CampaignStore(table))
    units = [f"unit-{i}" for i in range(30)]
    run.feed(plan([{"unit_id": u, "name": u, "kind": "county"} for u in units]))
    for u in units[:-1]:
        run.feed(*visit(u, "2026-04-18T09:00:00+08:00", "2026-04-28T09:00:00+08:00"))
    run.feed(tick("2026-05-01T00:30:00+08:00"))
    marks_before = {k for k in table if k.startswith(P + b"mark:")}
    table.writes.clear()
    run.feed(*visit(units[-1], "2026-05-02T09:00:00+08:00", "2026-05-12T09:00:00+08:00"))
    written = [k for k in table.writes if isinstance(k, bytes)]
    assert written.count(P + f"completed:zhangzhou-2026:{units[-1]}".encode()) >= 1
    assert not [k for k in written if k.startswith(P + b"completed:")
                and not k.endswith(units[-1].encode())]
    assert P + b"campaign:zhangzhou-2026" not in written  # its other fields unchanged
    # Two midnights passed (the visit's start and end): each one new mark, the old kept.
    new_marks = [k for k in written if k.startswith(P + b"mark:")]
    assert len(new_marks) == len(set(new_marks)) == 2
    assert not marks_before & set(new_marks)

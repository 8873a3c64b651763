"""Generations of a service's state (runtime/faust_runner/generations.py,
inspections/audit/rebuild.py): names, and what a generation catching up beside the live one leaves
out; tests/faults/test_rebuild.py runs a rebuild on the real broker."""

from __future__ import annotations

import asyncio

from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner import generations
from tests.unit.fake_faust import Message


def test_each_generation_has_a_group_changelogs_and_internal_topics_of_its_own():
    first, later = Settings(topic_prefix="city"), generations.of(Settings(topic_prefix="city"), 2)
    assert (first.app_id("escalation"), later.app_id("escalation")) == (
        "city-escalation", "city-escalation-g2")
    assert topics.name(later, topics.SCHEDULER_PROGRESS) == "city.scheduler.progress.g2"
    assert topics.name(later, topics.EVENTS) == topics.name(first, topics.EVENTS)  # shared


def test_the_old_generations_own_topics_only_are_named_for_removal():
    from inspections.audit.rebuild import old_topics

    old = Settings(topic_prefix="city")
    existing = {"city-escalation-state-changelog", "city-escalation-g1-state-changelog",
                "city-escalation-__assignor-__leader", "city.events",
                "city.scheduler.progress"}
    assert old_topics(old, "escalation", existing) == [
        "city-escalation-__assignor-__leader", "city-escalation-state-changelog"]
    assert old_topics(generations.of(old, 1), "scheduler", existing | {
        "city-scheduler-g1-side-changelog", "city.scheduler.progress.g1"}) == [
        "city-scheduler-g1-side-changelog", "city.scheduler.progress.g1"]


def test_the_live_generation_leaves_nothing_out():
    quiet = generations.Quiet(None)
    assert asyncio.run(quiet.left_out([Message(None, 0, 5)])) == set()


def test_a_generation_catching_up_leaves_out_what_the_live_one_processed_and_waits_at_its_head():
    quiet = generations.Quiet("city-escalation")
    quiet.committed = {("inspections.events", 0): 10}
    assert quiet.decide("inspections.events", 0, 9) is True  # published by the live one
    assert quiet.decide("inspections.events", 0, 10) is None  # not yet processed there
    assert quiet.decide("inspections.events", 1, 0) is None  # a partition it never committed

    async def catching_up():
        waiting = asyncio.ensure_future(quiet.left_out(
            [Message(None, 0, 9), Message(None, 0, 10), Message(None, 0, 11)]))
        await asyncio.sleep(0.7)
        assert not waiting.done()  # 10 and 11: undecided while the live one runs
        quiet.committed = {("inspections.events", 0): 11}  # it processed 10, then stopped
        quiet.final = True  # this generation is live and the old group is empty
        return await waiting

    assert asyncio.run(catching_up()) == {("inspections.events", 0, 9),
                                          ("inspections.events", 0, 10)}


def test_what_derives_from_the_generations_own_internal_topics_is_published():
    quiet = generations.Quiet("city-scheduler", frozenset({"city.scheduler.progress.g1"}))
    assert quiet.decide("city.scheduler.progress.g1", 0, 0) is False
    assert quiet.decide("city.events", 0, 0) is None


def test_a_forged_or_broken_pointer_record_changes_nothing():
    from runtime.plumbing import metrics

    def skipped() -> float:
        return metrics.RECORDS_SKIPPED.labels(
            "escalation", topics.GENERATIONS, "unreadable")._value.get()

    live = 0
    before = skipped()
    for value in (b'{"generation": 999}', b'{"generation": -5}', b'{"generation": "x"}',
                  b'"x"', b"999", b"\xff", b'{"generation": 1.0}', b'{"generation": true}'):
        live = generations.next_generation(live, value, 0, "escalation")
    assert live == 0 and skipped() == before + 8
    # What ``switch`` writes: the live one again, or the next.
    for value, want in ((b'{"generation": 0}', 0), (b'{"generation": 1}', 1),
                        (b'{"generation": 3}', 1), (b'{"generation": 2}', 2)):
        live = generations.next_generation(live, value, 0, "escalation")
        assert live == want

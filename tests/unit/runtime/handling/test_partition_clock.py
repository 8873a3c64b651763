"""A partition's clock at the gate: an event dated too far ahead is refused; a
``policy.adopted`` dated before the newest time already on its partition is refused
(``backdated``: the contract's rule), any other late event is taken as it comes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kernel.vocabulary import BACKDATED, CLOCK_TICKED, POLICY_ADOPTED, TOO_FAR_AHEAD
from runtime.handling.partition_clock import PartitionClock

T = datetime(2026, 4, 20, 10, tzinfo=timezone(timedelta(hours=8)))
APPENDED = int(T.timestamp() * 1000)


def clock() -> PartitionClock:
    return PartitionClock({}, timedelta(hours=48))


def test_an_adoption_dated_before_the_newest_time_is_refused_and_the_clock_kept():
    c = clock()
    assert c.admit(3, T, APPENDED, "finding.recorded") is None
    refused = c.admit(3, T - timedelta(minutes=1), APPENDED, POLICY_ADOPTED)
    assert refused.cause == BACKDATED
    assert "may not be dated before the newest time already on its partition" in refused.reason
    assert c.times[3] == T
    assert c.admit(3, T, APPENDED, POLICY_ADOPTED) is None  # at the newest time: in time


def test_other_late_events_are_taken_and_an_empty_partition_takes_any_adoption():
    c = clock()
    first = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert c.admit(0, first, APPENDED, POLICY_ADOPTED) is None  # the starting policy's date
    assert c.admit(0, T, APPENDED, "finding.recorded") is None
    assert c.admit(0, T - timedelta(days=3), APPENDED, CLOCK_TICKED) is None
    assert c.admit(0, T - timedelta(days=3), APPENDED, "finding.recorded") is None
    assert c.times[0] == T


def test_an_adoption_too_far_ahead_is_refused_as_any_event():
    c = clock()
    c.admit(0, T, APPENDED, "finding.recorded")
    assert c.admit(0, T + timedelta(days=3), APPENDED, POLICY_ADOPTED).cause == TOO_FAR_AHEAD

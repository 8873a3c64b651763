"""A partition's adopted policies (``kernel.policy_log``): the latest in force, the history
bounded to the latest, an adoption delivered again changing nothing, a policy's digest its
content's whatever the order of its keys."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kernel.policy_log import Adoption, adopt, digest

T = datetime(2026, 4, 20, tzinfo=timezone(timedelta(hours=8)))


def adoption(n: int) -> Adoption:
    return Adoption(f"p{n}", f"sha256:{n:016x}", T + timedelta(hours=n), f"event-{n}")


def test_the_latest_adoption_is_in_force_and_the_history_keeps_the_latest_ones():
    state = None
    for n in range(150):
        state = adopt(state, {"level_up_h": n}, adoption(n), kept=100)
    assert state.policy == {"level_up_h": 149} and state.current.policy_id == "p149"
    assert [a.policy_id for a in state.history] == [f"p{n}" for n in range(50, 150)]


def test_an_adoption_delivered_again_changes_nothing():
    state = adopt(None, {"level_up_h": 1}, adoption(1), kept=100)
    state = adopt(state, {"level_up_h": 2}, adoption(2), kept=100)
    assert adopt(state, {"level_up_h": 1}, adoption(1), kept=100) is state


def test_a_digest_is_the_contents_whatever_the_order_of_its_keys():
    one = {"ladder": {"a": "b", "b": None}, "level_up_h": 24.0}
    other = {"level_up_h": 24.0, "ladder": {"b": None, "a": "b"}}
    assert digest(one) == digest(other) != digest({**one, "level_up_h": 12.0})

"""`inspections demo --exit` as a user runs it: sample events through the worker's gate."""

from __future__ import annotations

import re


def test_demo_shows_events_through_the_gate(kafka):
    kafka.vars["INSPECTIONS_BOOTSTRAP_SERVERS"] = kafka.bootstrap
    try:
        done = kafka.cli("demo", "--exit", timeout=240)
    finally:
        kafka.vars.pop("INSPECTIONS_BOOTSTRAP_SERVERS")
    summary = re.search(r"(\d+) published, (\d+) passed the gate, (\d+) rejected", done.stdout)
    assert summary, done.stdout
    assert tuple(map(int, summary.groups())) == (6, 4, 2)
    assert "not JSON" in done.stdout
    assert "time: Input should have timezone info" in done.stdout

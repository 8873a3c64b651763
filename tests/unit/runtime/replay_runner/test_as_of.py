"""Any view as of a past time (``runtime.replay_runner.as_of``), on the seed campaign's records
(no broker): equal to what a replay cut at that time writes, refused past its bound, shown
computing while it computes, kept, and computed again once the log has moved past it."""

from __future__ import annotations

import tempfile
import threading
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from runtime.config.settings import Settings
from runtime.memory_runner.reading import views_of, written
from runtime.replay_runner.as_of import Computing, PastStates, TooLarge
from runtime.replay_runner.parts import Cut
from runtime.replay_runner.run import Run
from services import SYSTEM
from tests.unit import seeded

# Mid-campaign: visits on site, findings recorded, escalations open and climbing.
AS_OF = datetime.fromisoformat("2026-05-20T00:00:00+08:00")


def _ends(records) -> dict[int, int]:
    ends: dict[int, int] = {}
    for record in records:
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    return ends


def _states(records, settings=None, **kwargs) -> PastStates:
    return PastStates(SYSTEM, settings or Settings(), read=lambda as_of, past: records,
                      size=lambda: _ends(records), **kwargs)


def _done(states: PastStates, when: datetime):
    while isinstance(found := states.get(when), Computing):
        pass
    return found


def test_a_view_as_of_a_time_is_what_replay_until_that_time_writes():
    records = seeded.records()
    settings = Settings()
    answering = _done(_states(records, settings), AS_OF)
    with tempfile.TemporaryDirectory() as folder:
        run = Run(SYSTEM, settings, Path(folder) / "work", records=records, cut=Cut(AS_OF))
        try:
            run.views(Path(folder) / "views")
            from inspections.audit.replay import read_views

            replayed = read_views(Path(folder) / "views")
        finally:
            run.stop()
    checked = 0
    for service in SYSTEM:
        for view in written(service):
            for ident, expected in replayed[view.file].items():
                path = view.path.replace("{" + view.params[-1] + "}", quote(ident, safe=""))
                assert answering.get(service.name, f"{path}?limit=5000") == (200, expected)
                checked += 1
    assert checked > 50
    # and it is a past: what came later is not in it
    later = _done(_states(records, settings), datetime.fromisoformat("2027-12-31T00:00:00+08:00"))
    assert len(views_of(answering.memory, settings)["findings"]) < len(
        views_of(later.memory, settings)["findings"])


def test_a_log_past_the_bound_is_refused_saying_to_replay_it():
    records = seeded.records()
    states = _states(records, Settings(as_of_max_records=len(records) - 1))
    with pytest.raises(TooLarge, match="inspections replay --until"):
        states.get(AS_OF)
    status, body, _ = states.ask(AS_OF.isoformat(), "findings",
                                 SYSTEM.service("findings").view("finding"),
                                 {"finding_id": "x"}, {})
    assert status == 422 and "INSPECTIONS_AS_OF_MAX_RECORDS" in body["error"]


def test_a_long_one_says_how_far_it_is_then_answers():
    records = seeded.records()
    go = threading.Event()

    def slow(as_of, past):
        for i, record in enumerate(records):
            if i == 10:
                go.wait(30)
            yield record

    states = PastStates(SYSTEM, Settings(), read=slow, size=lambda: _ends(records))
    view = SYSTEM.service("escalation").view("register")
    status, body, headers = states.ask(AS_OF.isoformat(), "escalation", view, {}, {})
    assert status == 202 and body["computing"] and body["records"] == 10
    assert body["of"] == len(records) and headers == {"Retry-After": "1"}
    go.set()
    while (answer := states.ask(AS_OF.isoformat(), "escalation", view, {}, {}))[0] == 202:
        pass
    assert answer[0] == 200 and answer[1]["open"] > 0


def test_a_bad_time_is_refused():
    states = _states(seeded.records())
    view = SYSTEM.service("escalation").view("register")
    for text, says in (("yesterday", "as_of must be a time"),
                       ("2026-05-20T00:00:00", "needs its offset")):
        status, body, _ = states.ask(text, "escalation", view, {}, {})
        assert status == 400 and says in body["error"]


def test_a_past_is_kept_until_a_partition_it_read_whole_grows():
    records = list(seeded.records())
    reads = []
    ends = _ends(records)

    def read(as_of, past):
        reads.append(as_of)
        past.read_to_end.update(ends)  # as the Kafka reader notes a partition read whole
        return records

    states = PastStates(SYSTEM, Settings(as_of_kept=2), read=read, size=lambda: dict(ends))
    _done(states, AS_OF)
    _done(states, AS_OF)
    assert len(reads) == 1  # kept
    ends[0] += 1  # the log moved on
    _done(states, AS_OF)
    assert len(reads) == 2
    for day in ("2026-05-21", "2026-05-22"):  # two more times asked: the first one let go
        _done(states, datetime.fromisoformat(f"{day}T00:00:00+08:00"))
    _done(states, AS_OF)
    assert len(reads) == 5

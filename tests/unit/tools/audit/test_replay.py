"""The replay's cuts, on records made here (no broker)."""

from __future__ import annotations

import json
from datetime import datetime

from inspections.audit.replay import Record, cut
from tests.examples import raw


def _record(partition, offset, time, appended_ms, value=None):
    return Record("inspections.events", partition, offset, appended_ms, b"changtai",
                  value if value is not None else raw("visit.started", id=f"e{offset}",
                                                      time=time))


def test_the_event_time_cut_stops_each_partition_at_its_first_later_event():
    log = {
        0: [_record(0, 0, "2026-05-01T00:00:00+08:00", 1),
            _record(0, 1, "2026-05-10T00:00:00+08:00", 2),    # at the cut: kept
            _record(0, 2, "2026-05-10T00:00:01+08:00", 3),    # after: the cut
            _record(0, 3, "2026-05-02T00:00:00+08:00", 4)],   # late, after the cut: left out
        1: [_record(1, 0, "2026-06-01T00:00:00+08:00", 5)],
    }
    kept = cut(log, until=datetime.fromisoformat("2026-05-10T00:00:00+08:00"))
    assert [r.offset for r in kept[0]] == [0, 1]
    assert kept[1] == []


def test_a_rejected_record_before_the_cut_is_kept():
    log = {0: [_record(0, 0, "", 1, value=b"not json"),
               _record(0, 1, "2026-06-01T00:00:00+08:00", 2)]}
    kept = cut(log, until=datetime.fromisoformat("2026-05-10T00:00:00+08:00"))
    assert [r.offset for r in kept[0]] == [0]


def test_the_append_time_cut_uses_the_record_timestamp():
    t = datetime.fromisoformat("2026-05-10T00:00:00+08:00")
    ms = int(t.timestamp() * 1000)
    log = {0: [_record(0, 0, "2026-12-01T00:00:00+08:00", ms - 1),
               _record(0, 1, "2026-01-01T00:00:00+08:00", ms),
               _record(0, 2, "2026-01-01T00:00:00+08:00", ms + 1)]}
    assert [r.offset for r in cut(log, until_appended=t)[0]] == [0, 1]


def test_a_repeated_record_derives_nothing_twice_and_a_duplicate_is_looked_for_per_unit():
    from inspections.audit.replay import Pipeline
    from runtime.config.settings import Settings
    from tests.examples import event

    def finding(unit: str, offset: int) -> Record:
        body = event("finding.recorded", id="same-id", subject=unit)
        body["data"] = {**body["data"], "unit_id": unit, "finding_id": f"F-{unit}",
                        "visit_id": f"visit-{unit}"}
        appended = datetime.fromisoformat(body["time"]).timestamp() * 1000
        return Record("inspections.events", 0, offset, int(appended), unit.encode(),
                      json.dumps(body).encode())

    once = Pipeline(Settings()).run([finding("changtai", 0)]).derived
    twice = Pipeline(Settings()).run([finding("changtai", 0), finding("changtai", 1)]).derived
    assert once and twice == once
    # The same id from another unit is not that unit's duplicate (as in the services).
    other = Pipeline(Settings()).run([finding("changtai", 0), finding("pinghe", 1)]).derived
    assert len(other) == 2 * len(once)


def test_replay_writes_only_into_an_empty_folder_or_one_a_replay_wrote(tmp_path):
    import pytest

    from inspections.audit.replay import MARK, claim

    claim(tmp_path / "new")  # missing: made, and marked as the replay's
    assert (tmp_path / "new" / MARK).exists()
    (tmp_path / "new" / "views").mkdir()
    claim(tmp_path / "new")  # the replay's own: replaced
    assert not (tmp_path / "new" / "views").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(RuntimeError, match="holds files a replay did not write"):
        claim(mine)
    assert (mine / "thesis.tex").read_text() == "years of work" and not (mine / MARK).exists()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(RuntimeError, match="is a file"):
        claim(tmp_path / "a-file")
    (tmp_path / "empty").mkdir()
    claim(tmp_path / "empty")
    assert (tmp_path / "empty" / MARK).exists()

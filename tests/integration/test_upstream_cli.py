"""`inspections validate`, `publish` and `tick`, run as an integrator would."""

from __future__ import annotations

import json

from tests.examples import event, raw
from tests.integration.kafka_io import read_all


def _file(tmp_path, lines: list[bytes], name="events.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _new_records(kafka, before: int, want: int):
    return read_all(kafka.bootstrap, "inspections.events", want=before + want, timeout_s=30)


def test_validate_lists_each_bad_line_and_never_touches_kafka(tmp_path, kafka):
    path = _file(tmp_path, [raw("visit.started"), b"", b"{oops", raw("finding.recorded"),
                            json.dumps({**event("visit.ended"), "type": "visit.over"}).encode()])
    kafka.vars["INSPECTIONS_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"  # nothing listens there
    try:
        done = kafka.cli("validate", str(path), check=False)
        as_json = kafka.cli("validate", str(path), "--json", check=False)
    finally:
        kafka.vars.pop("INSPECTIONS_BOOTSTRAP_SERVERS")
        kafka.vars.pop("INSPECTIONS_KAFKA_TIMEOUT_S", None)
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"{path}:3: not JSON: ")
    assert lines[1].startswith(f'{path}:5: type: unknown event type "visit.over"')
    assert lines[2] == "4 events: 2 valid, 2 invalid"
    assert as_json.returncode == 1
    found = json.loads(as_json.stdout)
    assert (found["events"], found["valid"], found["invalid"]) == (4, 2, 2)
    assert [(p["line"], p["cause"]) for p in found["problems"]] == [(3, "not_json"),
                                                                     (5, "unknown_type")]

    fine = _file(tmp_path, [raw("visit.started")], "fine.jsonl")
    ok = kafka.cli("validate", str(fine))
    assert ok.stdout.strip() == "1 events: 1 valid, 0 invalid"
    missing = kafka.cli("validate", str(tmp_path / "nope.jsonl"), check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_publish_sends_nothing_when_a_line_is_bad(tmp_path, kafka):
    before = len(read_all(kafka.bootstrap, "inspections.events"))
    path = _file(tmp_path, [raw("visit.started", id="pub-none-1"), b"[1, 2]"])
    done = kafka.cli("publish", str(path), check=False)
    assert done.returncode == 1
    assert f"{path}:2: not a JSON object" in done.stdout
    assert "nothing sent" in done.stderr
    assert len(read_all(kafka.bootstrap, "inspections.events")) == before


def test_publish_sends_the_original_bytes_keyed_by_subject(tmp_path, kafka):
    before = {(r.partition, r.offset) for r in read_all(kafka.bootstrap, "inspections.events")}
    lines = [
        json.dumps(event("visit.started", id="pub-1"), ensure_ascii=False, indent=None).encode(),
        raw("campaign.planned", id="pub-2"),
        b"not json",
        raw("finding.recorded", id="pub-3"),
    ]
    path = _file(tmp_path, lines)
    done = kafka.cli("publish", str(path), "--skip-invalid")
    assert done.stdout.strip().splitlines() == [
        f"{path}:3: not JSON: invalid literal, expected 'null' at line 1 column 1",
        "sent 3 events (3 records) to inspections.events, 1 invalid skipped",
    ]
    new = [r for r in _new_records(kafka, len(before), 3) if (r.partition, r.offset) not in before]
    assert sorted((r.key, r.value) for r in new) == sorted([
        (b"changtai", lines[0]), (b"zhangzhou-2026", lines[1]), (b"changtai", lines[3]),
    ])
    by_key = {r.key: r.partition for r in new}
    assert len({r.partition for r in new if r.key == b"changtai"}) == 1  # a unit stays in order
    assert b"zhangzhou-2026" in by_key


def test_tick_sends_one_clock_ticked_to_every_partition(kafka):
    before = {(r.partition, r.offset) for r in read_all(kafka.bootstrap, "inspections.events")}
    done = kafka.cli("tick", "--at", "2026-05-01T00:00:00+08:00")
    assert done.stdout.strip() == (
        "clock.ticked at 2026-05-01T00:00:00+08:00 sent to 8 partitions")
    new = [r for r in _new_records(kafka, len(before), 8) if (r.partition, r.offset) not in before]
    ticks = [json.loads(r.value) for r in new]
    assert sorted(r.partition for r in new) == list(range(8))
    assert all(r.key is None for r in new)
    assert {t["type"] for t in ticks} == {"clock.ticked"}
    assert {t["time"] for t in ticks} == {"2026-05-01T00:00:00+08:00"}
    assert len({t["id"] for t in ticks}) == 8

    naive = kafka.cli("tick", "--at", "2026-05-01T00:00:00", check=False)
    assert naive.returncode == 2 and "has no offset" in naive.stderr


def test_an_unreachable_kafka_says_what_to_do(tmp_path, kafka):
    path = _file(tmp_path, [raw("visit.started")])
    kafka.vars["INSPECTIONS_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"  # nothing listens there
    kafka.vars["INSPECTIONS_KAFKA_TIMEOUT_S"] = "3"
    try:
        for args in (("publish", str(path)), ("tick",), ("topics", "create")):
            done = kafka.cli(*args, check=False, timeout=120)
            assert done.returncode == 1, args
            assert "cannot reach Kafka at 127.0.0.1:1" in done.stderr, (args, done.stderr)
            assert "inspections broker start" in done.stderr
    finally:
        kafka.vars.pop("INSPECTIONS_BOOTSTRAP_SERVERS")
        kafka.vars.pop("INSPECTIONS_KAFKA_TIMEOUT_S", None)

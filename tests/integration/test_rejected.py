"""Rejected records you can act on, on the real broker: two bad records sent past the
publisher are listed and shown by `inspections rejected` and the operator page as they were
sent; a corrected event republished in answer to one reaches the findings service; the same
fix again sends nothing; another fix, or a fix that is bad too, is refused and sends
nothing; the rejected topic keeps everything."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from tests.examples import event
from tests.integration.kafka_io import produce, read_all


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return {tp.partition: end for tp, end in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def test_list_show_and_republish_a_rejected_record(kafka, deployment, tmp_path):
    for service in ("scheduler", "findings"):
        deployment.start(service)
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)
    for service in ("scheduler", "findings"):
        kafka.cli("ready", service, "--wait", "120")

    wrong = event("finding.recorded", id="F-wrong-category", subject="changtai")
    wrong["data"].update(finding_id="F-9", category="serious <b>hazard</b>", unit_id="changtai")
    wrong_bytes = json.dumps(wrong, ensure_ascii=False).encode()
    events = deployment.topic("events")
    produce(kafka.bootstrap, events, [(b"changtai", wrong_bytes),
                                      (b"changtai", b'{"type": "visit.started", oops')])
    deadline = time.monotonic() + 120
    listed = []
    while time.monotonic() < deadline and len(listed) < 2:
        out = kafka.cli("rejected", "list", "--json").stdout
        listed = [json.loads(line) for line in out.splitlines()]
        time.sleep(1)
    assert sorted(r["cause"] for r in listed) == ["not_json", "schema"], listed
    (schema,) = [json.loads(line) for line in kafka.cli(
        "rejected", "list", "--cause", "schema", "--json").stdout.splitlines()]
    assert "category" in schema["reason"] and schema["key"] == "changtai"
    assert kafka.cli("rejected", "list", "--since", "2999-01-01T00:00:00+00:00",
                     "--json").stdout == ""

    shown = json.loads(kafka.cli("rejected", "show", schema["id"], "--json").stdout)
    assert shown["value_text"].encode() == wrong_bytes
    by_place = json.loads(kafka.cli("rejected", "show", schema["place"], "--json").stdout)
    assert by_place == shown

    # The fix: the category corrected, the same event otherwise.
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**wrong, "data": {**wrong["data"], "category": "violation"}},
                                ensure_ascii=False))
    done = kafka.cli("rejected", "republish", schema["id"], "--fixed", str(fixed),
                     "--as", "city-office")
    assert f"answering {schema['id']}" in done.stdout
    # Who republished it: in the log (stderr, the output stays the answer) and a header.
    said = [json.loads(line) for line in done.stderr.splitlines() if "fix republished" in line]
    assert [(s["account"], s["rejection_id"]) for s in said] == [("city-office", schema["id"])]
    sent = next(r for r in read_all(kafka.bootstrap, events)
                if ("inspections-answers", schema["id"].encode()) in (r.headers or []))
    assert ("inspections-republished-by", b"city-office") in sent.headers
    before = _end_offsets(kafka.bootstrap, events)
    again = kafka.cli("rejected", "republish", schema["id"], "--fixed", str(fixed))
    assert again.stdout.startswith("already republished") and "nothing sent" in again.stdout

    other = tmp_path / "other.json"
    other.write_text(json.dumps({**wrong, "data": {**wrong["data"], "category": "general"}}))
    refused = kafka.cli("rejected", "republish", schema["id"], "--fixed", str(other),
                        check=False)
    assert refused.returncode == 1 and "answered already, by other bytes" in refused.stderr
    bad_fix = tmp_path / "bad.json"
    bad_fix.write_text(json.dumps({**wrong, "data": {**wrong["data"], "category": "worse"}}))
    refused = kafka.cli("rejected", "republish", listed[0]["id"], "--fixed", str(bad_fix),
                        check=False)
    assert refused.returncode == 1 and "not valid either (schema)" in refused.stderr
    assert "nothing was sent" in refused.stderr
    missing = kafka.cli("rejected", "show", "no-such-id", check=False)
    assert missing.returncode == 1 and "no rejected record 'no-such-id'" in missing.stderr
    assert _end_offsets(kafka.bootstrap, events) == before  # nothing more was sent

    # The answer carries the rejection's id in a header, and the finding is on the list.
    answers = [r for r in read_all(kafka.bootstrap, events)
               if ("inspections-answers", schema["id"].encode()) in (r.headers or [])]
    assert len(answers) == 1 and json.loads(answers[0].value)["data"]["category"] == "violation"
    findings_port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]) + 1
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{findings_port}/findings/F-9", timeout=10) as answer:
                assert json.loads(answer.read())["category"] == "violation"
                break
        except urllib.error.HTTPError:
            assert time.monotonic() < deadline, "the republished finding never arrived"
            time.sleep(1)

    # The rejected topic still holds both; the operator page shows them, the bytes as text.
    assert len(read_all(kafka.bootstrap, deployment.topic("rejected"), want=2)) == 2
    base = f"http://127.0.0.1:{int(kafka.vars['INSPECTIONS_WEB_PORT_BASE']) + 3}"
    html = urllib.request.urlopen(f"{base}/rejected").read().decode()
    assert all(f'data-rejection="{r["id"]}"' in html for r in listed)
    one = urllib.request.urlopen(f"{base}/rejected/{schema['id']}").read().decode()
    assert "serious &lt;b&gt;hazard&lt;/b&gt;" in one and "<b>hazard" not in one

    # Status: both rejections in the last hour; the escalation worker is not running, which
    # it says, and the exit code too.
    status = kafka.cli("status", "--json", check=False)
    assert status.returncode == 1
    found = json.loads(status.stdout)
    assert found["rejected_last_hour"]["total"] == 2
    assert found["rejected_last_hour"]["by_cause"] == {"not_json": 1, "schema": 1}
    assert found["workers"]["scheduler"]["ready"] is True
    assert "is the worker running?" in found["workers"]["escalation"]["reason"]
    assert found["healthy"] is False
    deployment.start("escalation")  # the board asks it (what is due, the register)
    kafka.cli("ready", "escalation", "--wait", "120")
    board = urllib.request.urlopen(f"{base}/").read().decode()
    assert 'id="rejected-causes"' in board and "not_json</a> 1" in board
    try:
        urllib.request.urlopen(f"{base}/rejected.json?cause=bogus")
        raise AssertionError("a bad cause was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and "cause must be one of" in json.loads(exc.read())["error"]

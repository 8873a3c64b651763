"""Replay and audit on the real broker, against the three services as they ran."""

from __future__ import annotations

import json
import time
import urllib.request

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from tests.examples import event
from tests.integration.kafka_io import settled, wait_committed
from tests.integration.support import escalation_scenario
from tests.scenarios import CAMPAIGN, batch_1, year_end_ticks

CUT = "2026-05-10T00:00:00+08:00"
SERVICES = ("scheduler", "findings", "escalation")


def _events():
    events, _ = batch_1()
    escalation_events, _ = escalation_scenario()
    merged = sorted(events + escalation_events, key=lambda e: (e["time"], e["id"]))
    first = [e for e in merged if e["time"] <= CUT]
    first.append(event("clock.ticked", id="tick-cut", time=CUT))  # every partition reaches it
    rest = [e for e in merged if e["time"] > CUT] + year_end_ticks()
    return first, rest


def _get(kafka, service, path):
    port = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]) + SERVICES.index(service)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def _as_of(kafka, service, path, when):
    """A view as of ``when``: asked again while the worker says it is computing it."""
    deadline = time.monotonic() + 120
    while True:
        # "+" in a query is a space: the time's offset encoded (a space is taken for it too)
        found = _get(kafka, service, f"{path}?as_of={when.replace('+', '%2B')}")
        if not found.get("computing"):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def _live_views(kafka, units, escalation_ids, as_of=None):
    def get(service, path):
        return _get(kafka, service, path) if as_of is None else _as_of(kafka, service, path,
                                                                        as_of)

    return {
        "campaign": get("scheduler", f"/campaigns/{CAMPAIGN}"),
        "units": {u: get("scheduler", f"/units/{u}") for u in units},
        "findings": {f["finding_id"]: f for f in get("findings",
                                                     "/units/changtai/findings")["findings"]},
        "assessment": get("findings", "/assessments/2026"),
        "escalations": {i: get("escalation", f"/escalations/{i}") for i in escalation_ids},
    }


def _replayed_views(folder, units, escalation_ids):
    from inspections.audit.replay import read_views

    views = read_views(folder / "views")
    return {
        "campaign": views["campaigns"][CAMPAIGN],
        "units": {u: views["units"][u] for u in units},
        "findings": {i: f for i, f in views["findings"].items() if f["unit_id"] == "changtai"},
        "assessment": views["assessments"]["2026"],
        "escalations": {i: views["escalations"][i] for i in escalation_ids},
    }


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_replay_until_equals_the_live_views_and_verify_catches_tampering(kafka, deployment,
                                                                         tmp_path):
    prefix = deployment.prefix
    for service in SERVICES:
        deployment.start(service)
    first, rest = _events()
    units = sorted({e["subject"] for e in first if e["type"] not in ("clock.ticked",
                                                                       "campaign.planned")})
    deployment.publish(first, "stage-1.jsonl")
    settled(kafka, prefix)
    escalation_ids = [e["escalation_id"] for e in
                      _get(kafka, "escalation", "/units/changtai/escalations")["escalations"]]
    live_at_cut = _live_views(kafka, units, escalation_ids)

    deployment.publish(rest, "stage-2.jsonl")
    settled(kafka, prefix)
    live_at_end = _live_views(kafka, units, escalation_ids)
    assert live_at_end != live_at_cut

    # Replay as of the cut equals what the services showed then; to the end, what they show.
    at_cut = tmp_path / "at-cut"
    kafka.cli("replay", "--out", str(at_cut), "--until", CUT)
    assert _replayed_views(at_cut, units, escalation_ids) == live_at_cut
    # And every worker answers any view as of the cut the same (the log run in memory).
    assert _live_views(kafka, units, escalation_ids, as_of=CUT) == live_at_cut
    full, again = tmp_path / "full", tmp_path / "again"
    done = kafka.cli("replay", "--out", str(full))
    assert "derived events" in done.stdout
    assert _replayed_views(full, units, escalation_ids) == live_at_end
    kafka.cli("replay", "--out", str(again), "--workers", "3")
    assert _tree(full) == _tree(again)  # byte for byte, however many processes ran it
    one = tmp_path / "one"
    kafka.cli("replay", "--out", str(one), "--workers", "1", "--format", "dir")
    assert _tree(one / "derived") == _tree(full / "derived")
    assert json.loads((one / "views" / "units" / "changtai.json").read_text()) == \
        live_at_end["units"]["changtai"]

    report = tmp_path / "report.json"
    clean = kafka.cli("audit", "verify", "--json", str(report), check=False)
    assert clean.returncode == 0, clean.stdout
    assert "every derived event matches the rules" in clean.stdout
    summary = json.loads(report.read_text())
    assert summary["ok"] is True
    # The summary by topic and kind counts what is on each topic.
    from collections import Counter

    for t in summary["topics"]:
        assert sum(t["kinds"].values()) == t["found"]
        topic = t["topic"].split(".", 1)[1]
        lines = (full / "derived" / f"{t['topic']}.jsonl")
        if topic == "breaches":
            counted = Counter(f"deadline.breached {json.loads(x)['data']['kind']}"
                              for x in lines.read_text().splitlines())
            assert t["kinds"] == dict(counted)
    assert "  by kind: deadline.breached " in clean.stdout

    # Tamper: forge a breach, alter an escalation, drop the head of a breaches partition.
    breaches = [json.loads(line) for line in
                (full / "derived" / f"{prefix}.breaches.jsonl").read_text().splitlines()]
    escalations = [json.loads(line) for line in
                   (full / "derived" / f"{prefix}.escalations.jsonl").read_text().splitlines()]
    forged = {**breaches[0], "id": "00000000-0000-5000-8000-000000000000"}
    altered = {**escalations[0], "data": {**escalations[0]["data"],
                                          "authority": "city_government"}}
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    producer.send(f"{prefix}.breaches", key=b"changtai", value=json.dumps(forged).encode())
    producer.send(f"{prefix}.escalations", key=b"changtai", value=json.dumps(altered).encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None)
    tp = next(TopicPartition(f"{prefix}.breaches", p)
              for p in sorted(consumer.partitions_for_topic(f"{prefix}.breaches"))
              if consumer.end_offsets([TopicPartition(f"{prefix}.breaches", p)])[
                  TopicPartition(f"{prefix}.breaches", p)] >= 2)
    consumer.assign([tp])
    consumer.seek_to_beginning()
    head = next(r for batch in [consumer.poll(timeout_ms=5000, max_records=1)]
                for records in batch.values() for r in records)
    consumer.close()
    dropped = json.loads(head.value)["id"]
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    admin.delete_records({tp: head.offset + 1})
    admin.close()

    tampered = kafka.cli("audit", "verify", "--json", str(report), check=False)
    assert tampered.returncode == 1
    result = json.loads(report.read_text())
    by_topic = {t["topic"]: t for t in result["topics"]}
    assert forged["id"] in by_topic[f"{prefix}.breaches"]["extra"]
    assert by_topic[f"{prefix}.breaches"]["missing"] == [dropped]
    different = by_topic[f"{prefix}.escalations"]["different"]
    assert [d["id"] for d in different] == [altered["id"]]
    assert any(c.startswith("data.authority: expected") for c in different[0]["changes"])
    for word in (forged["id"], dropped, altered["id"]):
        assert word in tampered.stdout

    # The trail of a breach walks back to the inbound events of its case.
    overdue = next(b for b in breaches if b["data"]["kind"] == "rectification_report_overdue")
    trail = json.loads(kafka.cli("audit", "trail", overdue["id"], "--json").stdout)
    roles = {(e["role"], e["type"]) for e in trail}
    assert ("named", "deadline.breached") in roles
    assert ("cause", "rectification.report.submitted") in roles
    assert ("same case", "feedback.delivered") in roles
    assert all(e["topic"] and e["offset"] >= 0 and e["partition"] >= 0 for e in trail)
    text = kafka.cli("audit", "trail", overdue["data"]["subject_id"]).stdout
    assert "visit.started" in text and "deadline.breached" in text
    assert "named" in text and "├──" in text


def test_a_lost_state_store_is_rebuilt_from_the_changelogs(kafka, deployment, tmp_path):
    import shutil
    import signal

    prefix = deployment.prefix
    worker = deployment.start("scheduler")
    events, _ = batch_1()
    deployment.publish(events + year_end_ticks())
    reads = {f"{prefix}-scheduler": ["events", "scheduler.progress"]}
    wait_committed(kafka, reads)
    before = _get(kafka, "scheduler", f"/campaigns/{CAMPAIGN}")
    breaches_before = sorted(json.loads(r.value)["id"] for r in _read(kafka, prefix))
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    state = tmp_path / "home" / "state" / f"{prefix}-scheduler"
    assert state.is_dir()
    shutil.rmtree(state)  # the RocksDB files are gone

    deployment.start("scheduler")
    deadline = time.monotonic() + 120
    after = None
    while time.monotonic() < deadline:
        try:
            after = _get(kafka, "scheduler", f"/campaigns/{CAMPAIGN}")
            if after == before:
                break
        except OSError:
            pass
        time.sleep(1)
    assert after == before
    assert sorted(json.loads(r.value)["id"] for r in _read(kafka, prefix)) == breaches_before


def _read(kafka, prefix):
    from tests.integration.kafka_io import read_all

    return read_all(kafka.bootstrap, f"{prefix}.breaches")

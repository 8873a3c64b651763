"""Upstream systems publish over HTTP, on the real broker: `inspections ingest` takes a batch
with one bad event and publishes the good ones, which the services derive from, and answers
the bad one with the gate's reason; a publisher may publish its types for its units alone;
an event id is published once; binary mode works; a body past the cap is refused whole."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from inspections.ingest.binding import BATCH, STRUCTURED
from inspections.ingest.server import port as ingest_port
from runtime.config.settings import Settings
from tests.examples import event
from tests.integration.kafka_io import read_all, settled, wait_for

SECRET = "upstream-secret-1"


def _finding(fid: str, unit: str, at: datetime) -> dict:
    body = event("finding.recorded", id=f"ev-{fid}", time=at.isoformat(), subject=unit)
    body["data"].update(finding_id=fid, unit_id=unit, category="major_hazard",
                        visit_id=f"visit-{unit}", cannot_ensure_safety=False,
                        listed_supervision_advised=False)
    return body


def _post(base: str, body: bytes, content_type: str, secret: str = SECRET,
          headers: dict | None = None):
    basic = base64.b64encode(f"changtai-system:{secret}".encode()).decode()
    request = urllib.request.Request(base + "/events", data=body, method="POST", headers={
        "Content-Type": content_type, "Authorization": f"Basic {basic}", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_an_upstream_system_publishes_over_http(kafka, deployment, tmp_path):
    prefix = deployment.prefix
    kafka.cli("accounts", "add", "changtai-system", "--role", "publisher", "--unit", "changtai",
              "--type", "finding.recorded", "--type", "visit.started", "--password-stdin",
              input=SECRET + "\n")
    worker = deployment.start("all")
    kafka.vars["INSPECTIONS_INGEST_MAX_BYTES"] = str(64 * 1024)
    ingest = kafka.spawn("ingest", log=tmp_path / "ingest.log")
    kafka.vars.pop("INSPECTIONS_INGEST_MAX_BYTES")
    deployment.workers.append(ingest)
    settings = Settings(web_port_base=int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]))
    base = f"http://127.0.0.1:{ingest_port(settings)}"
    wait_for(lambda: _alive(base), "the ingestion server")
    now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    # Who may publish: a publisher's credentials, nothing else.
    assert _post(base, b"{}", STRUCTURED, secret="wrong-secret-1")[0] == 401

    # A batch with one bad event: the good ones published, the bad one refused with why.
    bad = _finding("H3", "changtai", now)
    del bad["data"]["category"]
    batch = [_finding("H1", "changtai", now), bad, _finding("H2", "changtai", now)]
    status, answer = _post(base, json.dumps(batch, ensure_ascii=False).encode(), BATCH)
    assert status == 207, answer
    assert [e["status"] for e in answer["events"]] == [202, 400, 202]
    assert answer["events"][1]["cause"] == "schema" and "category" in \
        answer["events"][1]["reason"]
    assert all(isinstance(e["offset"], int) for e in answer["events"] if e["status"] == 202)

    # Another unit's, another type: not this publisher's; nothing published.
    other = _finding("H4", "pinghe", now)
    ack = event("escalation.acknowledged", id="ev-ack-h1", time=now.isoformat())
    status, answer = _post(base, json.dumps([other, ack]).encode(), BATCH)
    assert status == 403 and [e["status"] for e in answer["events"]] == [403, 403]
    assert "for changtai only" in answer["events"][0]["reason"]
    assert "escalation.acknowledged" in answer["events"][1]["reason"]

    # One event, structured; the same id again is not published again.
    one = json.dumps(_finding("H5", "changtai", now), ensure_ascii=False).encode()
    first = _post(base, one, STRUCTURED)
    assert first[0] == 202 and first[1]["accepted"] == 1
    again = _post(base, one, STRUCTURED)
    assert again[0] == 202 and again[1]["events"][0]["duplicate"] is True
    # One event, binary mode.
    started = event("visit.started", id="ev-started-h", time=now.isoformat())
    headers = {f"ce-{k}": str(v) for k, v in started.items()
               if k not in ("data", "datacontenttype")}
    status, answer = _post(base, json.dumps(started["data"]).encode(), "application/json",
                           headers=headers)
    assert status == 202, answer
    # A body past the cap: refused whole.
    huge = json.dumps([_finding(f"B{i}", "changtai", now) for i in range(200)]).encode()
    assert len(huge) > 64 * 1024
    status, answer = _post(base, huge, BATCH)
    assert status == 413 and "INSPECTIONS_INGEST_MAX_BYTES" in answer["error"]

    # What reached the topic: each accepted event once, none refused.
    inbound = [json.loads(r.value)["id"] for r in read_all(kafka.bootstrap, f"{prefix}.events")]
    assert sorted(inbound) == ["ev-H1", "ev-H2", "ev-H5", "ev-started-h"]
    # The services derive from them as from any publisher's.
    settled(kafka, prefix, workers=["all"])
    raised = {json.loads(r.value)["data"]["escalation_id"]
              for r in read_all(kafka.bootstrap, f"{prefix}.escalations")}
    assert raised == {"H1:report_major_hazard", "H2:report_major_hazard",
                      "H5:report_major_hazard"}
    log = (tmp_path / "ingest.log").read_text()
    published = [json.loads(line) for line in log.splitlines() if "published over HTTP" in line]
    assert {p["event_id"] for p in published} == set(inbound)
    assert {p["account"] for p in published} == {"changtai-system"}
    assert "refused over HTTP" in log and SECRET not in log
    assert worker.poll() is None and ingest.poll() is None


def _alive(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False

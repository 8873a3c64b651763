"""Helpers shared by the integration tests (and test_notify): kinds, scenarios, breach
records, a real Alertmanager."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.examples import event

SCHEDULER_KINDS = {
    "team_composition_invalid", "visit_too_short", "township_coverage_short",
    "community_coverage_short", "department_coverage_short", "enterprise_coverage_short",
    "rectification_report_overdue", "campaign_coverage_incomplete", "status_report_overdue",
}

SCRIPT = "<script>window.__xss = 1</script>仓库标识不清"

SCENARIO = {
    "name": "browser-test",
    "seed": 7,
    "campaign": {"id": "test-2026", "year": 2026, "title": "测试巡查 test campaign",
                 "coverage_due": "2026-12-31", "planned_at": "2026-04-01T10:00:00+08:00"},
    "units": [
        {"id": "changtai", "name": "长泰县", "pinyin": "Changtai", "kind": "county",
         "townships": 9, "departments": 24},
        {"id": "taishang", "name": "台商投资区", "pinyin": "Taishang", "kind": "zone",
         "townships": 3, "departments": 12},
    ],
    "teams": [{"id": "team-1", "size": 8}, {"id": "team-2", "size": 8}],
    "visits": [
        {"unit": "changtai", "team": "team-1", "batch": 1, "phase": 1,
         "planned_start": "2026-04-18", "planned_end": "2026-04-28",
         "sites": {"township_share": 0.7, "department_share": 0.5, "enterprises": 10},
         "findings": {"general": 2, "violation": 1},
         "special": [{"category": "major_hazard", "never_answered": True},
                     {"category": "general", "description": SCRIPT}]},
        {"unit": "taishang", "team": "team-2", "batch": 1, "phase": 1,
         "planned_start": "2026-04-18", "planned_end": "2026-04-24",
         "sites": {"communities": 3, "department_share": 0.7, "enterprises": 9},
         "findings": {"general": 1}},
    ],
    "until": "2026-05-10T00:00:00+08:00",
}


def findings_breach(n: int, unit: str = "changtai") -> dict:
    """A ``deadline.breached`` as the findings service writes one (no escalation's: its
    alert needs no register)."""
    return {"specversion": "1.0", "id": f"breach-{n}", "type": "deadline.breached",
            "source": "urn:inspections:service:findings", "subject": unit,
            "time": "2026-04-20T10:00:00+08:00", "datacontenttype": "application/json",
            "causationid": f"finding-{n}",
            "data": {"deadline_id": f"F{n}:evidence_or_advice", "kind":
                     "evidence_or_advice_missing", "unit_id": unit, "subject_id": f"F{n}",
                     "due": "2026-04-20T10:00:00+08:00",
                     "breached_at": "2026-04-20T10:00:00+08:00", "detail": None}}


def with_data(event: dict, **data) -> bytes:
    """The record of ``event`` with ``data`` over its data, as JSON bytes."""
    return json.dumps({**event, "data": {**event["data"], **data}}).encode()


# Records no breach: each once made `inspections notify` stop (and, restarted, read it again).
MALFORMED = [
    b"not json", b"\xff\xfe", b"[1, 2]", b"null", b"[" * 100_000,
    json.dumps({**findings_breach(90), "data": "evidence"}).encode(),
    json.dumps({**findings_breach(91), "type": "escalation.raised"}).encode(),
    json.dumps({k: v for k, v in findings_breach(92).items() if k != "source"}).encode(),
    json.dumps({**findings_breach(93), "time": "yesterday"}).encode(),
    with_data(findings_breach(94), kind=None), with_data(findings_breach(95), unit_id=7),
    with_data(findings_breach(96), due=["2026"]),
    with_data(findings_breach(97), detail={"x": 1}),
    json.dumps({**findings_breach(98),
                "data": {"kind": "evidence_or_advice_missing"}}).encode(),
    None,  # a tombstone
]


T0 = datetime.fromisoformat("2026-04-20T10:00:00+08:00")


def _ev(kind, t: datetime, n: int, unit="changtai", **data):
    body = event(kind, id=f"esc-{n:03d}", time=t.isoformat(), subject=unit,
                 correlationid=f"visit-2026-{unit}")
    body["data"] = {**body["data"], "unit_id": unit, **data}
    return body


def escalation_scenario() -> tuple[list[dict], dict[str, str]]:
    """The escalation scenario: (events, expected final status of each escalation)."""
    n = iter(range(1000))
    out = []

    def finding(fid, category, hours, safety=False, listed=False, unit="changtai"):
        out.append(_ev("finding.recorded", T0 + timedelta(hours=hours), next(n), unit,
                       finding_id=fid, visit_id=f"visit-2026-{unit}", category=category,
                       cannot_ensure_safety=safety, listed_supervision_advised=listed))

    def at(hours):
        return T0 + timedelta(hours=hours)

    finding("F1", "violation", 0)
    out.append(_ev("enforcement.document.issued", at(5), next(n), finding_id="F1"))
    finding("F2", "violation", 1)                       # never: to the top
    finding("F3", "violation", 2, safety=True)          # document in time, measures never;
    out.append(_ev("enforcement.document.issued", at(3), next(n), finding_id="F3"))
    finding("F4", "major_hazard", 3)                    # acknowledged exactly at due
    out.append(_ev("escalation.acknowledged", at(27), next(n),
                   escalation_id="F4:report_major_hazard", by="city_safety_office"))
    finding("F5", "major_issue", 4)                     # acknowledged one second late
    out.append(_ev("escalation.acknowledged", at(28) + timedelta(seconds=1), next(n),
                   escalation_id="F5:request_instructions", by="city_safety_committee"))
    finding("F6", "misconduct_clue", 5)                 # resolved at level 1
    out.append(_ev("escalation.resolved", at(6), next(n),
                   escalation_id="F6:report_misconduct_clue", resolution="referred"))
    finding("F7", "accountability", 6, unit="pinghe")   # never: 72 h, then to the top
    finding("F8", "general", 7, listed=True)            # acknowledged at level 1
    out.append(_ev("escalation.acknowledged", at(8), next(n),
                   escalation_id="F8:recommend_listed_supervision", by="unit_safety_committee"))
    finding("F9", "violation", 8)                       # ack before level-up: open; document
    out.append(_ev("escalation.acknowledged", at(9), next(n),                 # after it closes
                   escalation_id="F9:issue_enforcement_document", by="local_regulator"))
    out.append(_ev("escalation.acknowledged", at(9), next(n),
                   escalation_id="F-nobody:report_major_hazard", by="x"))   # unmatched
    out.append(event("clock.ticked", id="esc-tick-1", time=at(40).isoformat()))
    out.append(_ev("immediate.measures.taken", at(41), next(n), finding_id="F9"))  # unasked
    out.append(_ev("enforcement.document.issued", at(42), next(n), finding_id="F9"))
    out.append(_ev("escalation.acknowledged", at(43), next(n),   # F3 measures, after level-up
                   escalation_id="F3:take_immediate_measures", by="city_safety_office"))
    out.append(event("clock.ticked", id="esc-tick-2", time="2026-06-01T00:00:00+08:00"))
    out.sort(key=lambda e: (e["time"], e["id"]))
    expected = {
        "F1:issue_enforcement_document": "closed",
        "F2:issue_enforcement_document": "missed_at_top",
        "F3:issue_enforcement_document": "closed",
        "F3:take_immediate_measures": "closed",
        "F4:report_major_hazard": "closed",
        "F5:request_instructions": "closed",
        "F6:report_misconduct_clue": "closed",
        "F7:transfer_for_investigation": "missed_at_top",
        "F8:recommend_listed_supervision": "closed",
        "F9:issue_enforcement_document": "closed",
    }
    return out, expected


def alertmanager(config, tmp_path) -> tuple:
    """A real Alertmanager (Debian's) with the configuration file ``config``, its state in
    ``tmp_path``, on a port of its own, once it is ready: (its process, its URL)."""
    import shutil
    import subprocess
    import urllib.request

    from tests.conftest import free_port
    from tests.integration.kafka_io import wait_for

    binary = shutil.which("prometheus-alertmanager")
    assert binary, "prometheus-alertmanager is missing: `make test` installs it"
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=open(tmp_path / "alertmanager.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    wait_for(ready, "Alertmanager ready", 60)
    return proc, url

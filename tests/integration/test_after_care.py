"""After-care (跟踪监督) through the whole system, on the real broker: a campaign of two
counties run through one worker of every service, with a finding the report lists as pending
and never followed up, one still owed, one a spot check reopens and a look-back verifies, a
withdrawn one, a listed hazard, a transfer without an outcome and one concluded, and the city
office's monthly reports to the city government (one county named a month late). The ledger,
the follow-ups, the checks by method, the boards, the draft report and both new breaches are
as the rules say, in the views, the command line and the page (the city safety office
records a status report in Chromium); replay and audit verify agree with every one."""

from __future__ import annotations

import csv
import io
import json
import urllib.request

import yaml

from inspections.asking.operator import port as page_port
from runtime.config.settings import Settings
from tests.faults.harness import _status
from tests.integration.kafka_io import read_all, settled, wait_for

CAMPAIGN = "aftercare-2026"
SCENARIO = {
    "name": "aftercare-test",
    "seed": 7,
    "campaign": {"id": CAMPAIGN, "year": 2026, "title": "跟踪监督测试 after-care test",
                 "coverage_due": "2026-12-31", "planned_at": "2026-04-01T10:00:00+08:00"},
    "units": [{"id": "changtai", "name": "长泰县", "pinyin": "Changtai", "kind": "county",
               "townships": 9, "departments": 24},
              {"id": "pinghe", "name": "平和县", "pinyin": "Pinghe", "kind": "county",
               "townships": 16, "departments": 26}],
    "teams": [{"id": "team-1", "size": 8}, {"id": "team-2", "size": 8}],
    "visits": [
        {"unit": "changtai", "team": "team-1", "batch": 1, "phase": 1,
         "planned_start": "2026-04-18", "planned_end": "2026-04-28",
         "sites": {"township_share": 0.67, "department_share": 0.5, "enterprises": 10},
         "findings": {"general": 1},
         "special": [
             {"category": "general", "rectified": False},  # pending, never followed up
             {"category": "violation", "spot_check": "not_rectified"},  # reopened, verified
             {"category": "general", "withdrawn_after_h": 5},
             {"category": "major_hazard", "listed_supervision_advised": True,
              "listed": True},  # listed, not lifted
             {"category": "accountability", "resolved_after_h": 10}]},  # no outcome
        {"unit": "pinghe", "team": "team-2", "batch": 1, "phase": 2,
         "planned_start": "2026-05-20", "planned_end": "2026-05-30",
         "sites": {"township_share": 0.63, "department_share": 0.5, "enterprises": 10},
         "findings": {"general": 1},
         "special": [
             {"category": "general", "rectified": False},  # pending, still owed at the end
             {"category": "accountability", "concluded_after_h": 40}]},
    ],
    "until": "2026-09-20T00:00:00+08:00",
    "status_report_day": 5,
    "status_report_late": ["pinghe"],
}
PASSWORD = "city-office-pass"


def _json(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_ledger_follow_ups_boards_and_the_report_to_the_city_government(
        kafka, deployment, tmp_path, browser):
    kafka.cli("accounts", "add", "city-office", "--role", "city", "--authority",
              "city_safety_office", "--password-stdin", input=PASSWORD + "\n")
    worker = deployment.start("all")
    settings = Settings(web_port_base=int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]))
    all_url = f"http://127.0.0.1:{settings.web_port_base + 4}"
    kafka.vars["INSPECTIONS_ALL_URL"] = all_url
    try:
        page = kafka.spawn("operator", log=tmp_path / "operator.log")
        deployment.workers.append(page)
        scenario = tmp_path / "aftercare.yaml"
        scenario.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
        kafka.cli("ready", "all", "--wait", "120")
        kafka.cli("simulate", str(scenario), "--speed", "0")
        settled(kafka, deployment.prefix, workers=["all"])
        _views(kafka, deployment, all_url, tmp_path)
        base = f"http://127.0.0.1:{page_port(settings)}"
        wait_for(lambda: _status(f"{base}/healthz") == 200, "the operator page")
        _in_chromium(browser, base, kafka, all_url)
        verified = kafka.cli("audit", "verify", check=False)
        assert verified.returncode == 0, verified.stdout
        assert worker.poll() is None
    finally:
        kafka.vars.pop("INSPECTIONS_ALL_URL")


def _views(kafka, deployment, all_url: str, tmp_path) -> None:
    changtai_pending, changtai_reopened = "changtai-2026-b1-002", "changtai-2026-b1-003"
    withdrawn, listed, open_transfer = ("changtai-2026-b1-004", "changtai-2026-b1-005",
                                        "changtai-2026-b1-006")
    pinghe_pending, concluded = "pinghe-2026-b1-002", "pinghe-2026-b1-003"
    findings = f"{all_url}/findings"

    # The ledger of a unit: each finding's state and the event behind each step.
    changtai = _json(f"{findings}/units/changtai/ledger?campaign={CAMPAIGN}")
    states = {f["finding_id"]: f["ledger"] for f in changtai["findings"]}
    assert states[changtai_pending] == "pending"
    assert states[changtai_reopened] == "verified"
    assert states[withdrawn] == "withdrawn"
    reopened = next(f for f in changtai["findings"] if f["finding_id"] == changtai_reopened)
    assert [s["ledger"] for s in reopened["steps"]] == ["open", "claimed", "reopened",
                                                        "claimed", "verified"]
    assert reopened["steps"][-1]["event_type"] == "spot_check.conducted"
    pending = next(f for f in changtai["findings"] if f["finding_id"] == changtai_pending)
    assert pending["follow_up_overdue"] is True
    # Checks after the report by method: the spot checks (one confirming, one not) and the
    # look-back.
    (visit,) = changtai["visits"]
    assert visit["by_method"] == {"spot_check": 2, "unannounced_visit": 0, "look_back": 1}

    whole = _json(f"{findings}/ledger?campaign={CAMPAIGN}")
    assert [u["unit_id"] for u in whole["units"]] == ["changtai", "pinghe"]
    assert whole["no_look_back"] == ["pinghe"]  # reported, no not-rectified finding to re-check
    assert sum(whole["by_state"].values()) == 6 + 3

    # The follow-up still owed, in the due list of the unit that owes it.
    due = json.loads(kafka.cli("due", "--kind", "rectification_follow_up", "--json").stdout)
    assert [(d["subject_id"], d["service"]) for d in due["due"]] == [(pinghe_pending,
                                                                      "findings")]
    # The boards: the listed hazard with its age; the transfer without an outcome.
    assert [h["finding_id"] for h in _json(f"{findings}/listed")["listed"]] == [listed]
    assert _json(f"{findings}/listed")["listed"][0]["age_s"] > 0
    transfers = _json(f"{findings}/transfers")["transfers"]
    assert [t["finding_id"] for t in transfers] == [open_transfer]
    assert _json(f"{findings}/findings/{concluded}")["conclusion"]["outcome"]

    # The breaches the new rules derive, once each.
    breaches = [json.loads(r.value)["data"] for r in read_all(kafka.bootstrap,
                                                              deployment.topic("breaches"))]
    follow_ups = [b["subject_id"] for b in breaches
                  if b["kind"] == "rectification_follow_up_overdue"]
    assert follow_ups == [changtai_pending]
    late = [(b["unit_id"], b["subject_id"]) for b in breaches
            if b["kind"] == "status_report_overdue"]
    assert late == [("pinghe", f"{CAMPAIGN}-b1-pinghe")]
    status = _json(f"{all_url}/scheduler/campaigns/{CAMPAIGN}/status-reports")
    assert [(o["unit_id"], bool(o["covered_by"]), bool(o["breached_at"]))
            for o in status["owed"]] == [("changtai", True, False), ("pinghe", False, True)]

    # The command line: the problem list as CSV, the draft report.
    kafka.cli("ledger", "--campaign", CAMPAIGN, "--format", "csv", "--out",
              str(tmp_path / "ledger.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ledger.csv").read_text("utf-8-sig"))))
    assert {r["finding_id"]: r["ledger"] for r in rows} == {
        **states, **{f["finding_id"]: f["ledger"] for f in _json(
            f"{findings}/units/pinghe/ledger")["findings"]}}
    draft = json.loads(kafka.cli("report", "status", "--campaign", CAMPAIGN, "--json").stdout)
    lines = {u["unit_id"]: u for u in draft["units"]}
    assert lines["changtai"]["listed_hazards"] == 1 and lines["changtai"]["open_transfers"] == 1
    assert lines["changtai"]["follow_ups_overdue"] == 1 and lines["pinghe"]["ledger_pending"] == 1
    assert lines["pinghe"]["status_breached_at"] and lines["changtai"]["status_covered_by"]

    # Replay gives the same ledgers and status reports as the live views.
    from inspections.audit.replay import read_views

    kafka.cli("replay", "--out", str(tmp_path / "replay"))
    replayed = read_views(tmp_path / "replay" / "views")
    assert replayed["ledgers"]["changtai"] == _json(f"{findings}/units/changtai/ledger")
    assert replayed["status_reports"][CAMPAIGN] == status


def _in_chromium(browser, base: str, kafka, all_url: str) -> None:
    """The city safety office signs in, reads the ledger and the draft, and records that it
    reported Pinghe's status to the city government."""
    from selenium.webdriver.common.by import By

    browser.get(base + "/")
    browser.find_element(By.NAME, "name").send_keys("city-office")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait_for(lambda: "/signin" not in browser.current_url, "signed in", 30)
    browser.get(f"{base}/ledger?campaign={CAMPAIGN}")
    units = browser.find_elements(By.CSS_SELECTOR, "#ledger-units tr[data-unit]")
    assert [u.get_attribute("data-unit") for u in units] == ["changtai", "pinghe"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#listed tr[data-finding]")) == 1
    browser.find_element(By.ID, "draft").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#draft tr[data-unit]"),
             "the draft", 30)
    rows = browser.find_elements(By.CSS_SELECTOR, "#draft tr[data-unit]")
    assert [r.get_attribute("data-unit") for r in rows] == ["changtai", "pinghe"]
    assert "逾期 missed" in rows[1].find_element(By.CSS_SELECTOR, "td.status").text
    browser.find_element(By.NAME, "report_id").send_keys("SR-2026-09")
    box = rows[1].find_element(By.NAME, "unit_id")
    if not box.is_selected():
        box.click()
    browser.find_element(By.CSS_SELECTOR, "#record button").click()
    wait_for(lambda: browser.find_elements(By.ID, "sent"), "the record's answer", 30)
    wait_for(lambda: any(s["report_id"] == "SR-2026-09" for s in _json(
        f"{all_url}/scheduler/campaigns/{CAMPAIGN}/status-reports")["sent"]),
        "the status report applied", 60)
    # Published once, naming the account.
    events = [json.loads(r.value) for r in read_all(kafka.bootstrap,
                                                    f"{kafka.vars['INSPECTIONS_TOPIC_PREFIX']}"
                                                    ".events")]
    mine = [e for e in events if e.get("actor") == "city-office"]
    assert [(e["type"], e["data"]["unit_ids"]) for e in mine] == [
        ("status.report.submitted", ["pinghe"])]

"""People act on what is theirs, on the real broker: accounts made with `inspections accounts`;
a county's safety committee signs in with headless Chromium, finds its escalation in its
queue, acknowledges it with the button, and sees it closed; a county regulator records the
enforcement document with the page's form, and the escalation closes in the services' views;
the form sent twice publishes once; another county's escalation is not found for it, and a
forged form for it publishes nothing; an auditor reads and cannot act; the city safety office
acknowledges from the command line; the trail names who acted; wrong passwords are limited."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

from inspections.asking.operator import port as page_port
from runtime.config.settings import Settings
from tests.examples import event
from tests.faults.harness import _status
from tests.integration.kafka_io import read_all, settled, wait_for

PASSWORDS = {"changtai-reg": "changtai-pass-1", "pinghe-reg": "pinghe-pass-12",
             "auditor": "auditor-pass-1", "city-office": "city-office-pass",
             "pinghe-committee": "pinghe-committee-1"}


def _finding(fid: str, unit: str, category: str, at: datetime, listed: bool = False) -> dict:
    body = event("finding.recorded", id=f"ev-{fid}", time=at.isoformat(), subject=unit)
    body["data"].update(finding_id=fid, unit_id=unit, category=category,
                        visit_id=f"visit-{unit}", cannot_ensure_safety=False,
                        listed_supervision_advised=listed)
    return body


class Browser:
    """A person's browser, as far as the page can tell: cookies, redirects, forms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, form: dict | None = None) -> tuple[int, str, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as answer:
                return answer.status, answer.geturl(), answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode()

    def sign_in(self, name: str, password: str) -> tuple[int, str, str]:
        _, _, html = self.open("/signin")
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        return self.open("/signin", {"token": token, "next": "/", "name": name,
                                     "password": password})


def _field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_a_county_regulator_acts_and_others_cannot(kafka, deployment, tmp_path, browser):
    for name, password in PASSWORDS.items():
        role = {"auditor": ["--role", "auditor"],
                "city-office": ["--role", "city", "--authority", "city_safety_office"],
                "pinghe-committee": ["--role", "unit", "--authority", "unit_safety_committee",
                                     "--unit", "pinghe"]}.get(
            name, ["--role", "unit", "--authority", "local_regulator",
                   "--unit", name.split("-")[0]])
        kafka.cli("accounts", "add", name, *role, "--password-stdin", input=password + "\n")
    listed = json.loads(kafka.cli("accounts", "list", "--json").stdout)
    assert {a["name"] for a in listed} == set(PASSWORDS)
    assert "password_hash" not in json.dumps(listed)

    worker = deployment.start("all")
    settings = Settings(web_port_base=int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"]))
    kafka.vars["INSPECTIONS_ALL_URL"] = f"http://127.0.0.1:{settings.web_port_base + 4}"
    try:
        _acting(kafka, deployment, tmp_path, worker, settings, browser)
    finally:
        kafka.vars.pop("INSPECTIONS_ALL_URL")


def _acting(kafka, deployment, tmp_path, worker, settings, browser):
    prefix = deployment.prefix
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)
    base = f"http://127.0.0.1:{page_port(settings)}"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    deployment.publish([
        _finding("F1", "changtai", "violation", now - timedelta(hours=1)),
        _finding("F2", "changtai", "major_hazard", now - timedelta(hours=1)),
        _finding("F3", "pinghe", "violation", now - timedelta(hours=1)),
        # Listed supervision recommended: the county's safety committee must acknowledge it.
        _finding("F4", "pinghe", "general", now - timedelta(hours=1), listed=True),
    ])
    settled(kafka, prefix, workers=["all"])
    kafka.cli("ready", "all", "--wait", "60")
    wait_for(lambda: _status(f"{base}/healthz") == 200, "the operator page")

    # Without signing in, the page asks for it; JSON answers 401.
    stranger = Browser(base)
    status, url, html = stranger.open("/")
    assert status == 200 and url.startswith(f"{base}/signin") and 'id="signin"' in html
    assert stranger.open("/queue.json")[0] == 401

    _in_chromium(browser, base, kafka)

    # The county regulator signs in: its home is its queue, with its escalation alone.
    changtai = Browser(base)
    status, url, html = changtai.sign_in("changtai-reg", PASSWORDS["changtai-reg"])
    assert status == 200 and url == f"{base}/queue", (status, url)
    assert 'data-subject="F1:issue_enforcement_document"' in html
    assert "F2:" not in html and "F3:" not in html  # the city's, and another county's
    status, _, html = changtai.open("/escalations/F1%3Aissue_enforcement_document")
    assert status == 200 and 'data-action="document"' in html
    assert 'data-action="measures"' not in html  # it asks for a document, not measures
    form = {"csrf": _field(html, "csrf"), "action_id": _field(html, "action_id"),
            "action": "document", "document_no": "长应急罚〔2026〕21号",
            "department": "长泰县应急管理局"}

    # The form: published through the gate, the outcome shown once the services applied it.
    status, outcome_url, html = changtai.open("/escalations/F1%3Aissue_enforcement_document/act",
                                              form)
    assert status in (200, 202) and "/outcome/act-" in outcome_url, (status, outcome_url)
    path = outcome_url[len(base):]
    wait_for(lambda: 'data-state="done"' in changtai.open(path)[2], "the escalation closed")
    # Sent again (a double click, a reload): the same outcome, nothing more published.
    again = changtai.open("/escalations/F1%3Aissue_enforcement_document/act", form)
    assert again[1] == outcome_url
    view = _json(f"{kafka.vars['INSPECTIONS_ALL_URL']}/escalation/escalations/"
                 "F1%3Aissue_enforcement_document")
    assert view["status"] == "closed"
    assert view["history"][-1]["event_id"] == f"act-{form['action_id']}"

    # Another county's escalation: not found for it; a forged form for it publishes nothing.
    status, _, html = changtai.open("/escalations/F3%3Aissue_enforcement_document")
    assert status == 404
    forged = {**form, "action_id": "f" * 32}
    assert changtai.open("/escalations/F3%3Aissue_enforcement_document/act", forged)[0] == 404
    # No form token (a form of another site): refused before anything is looked up.
    assert changtai.open("/escalations/F1%3Aissue_enforcement_document/act",
                         {**form, "csrf": "", "action_id": "e" * 32})[0] == 403
    # The city's pages are not a county's.
    assert changtai.open("/rejected")[0] == 403

    # The auditor reads every unit and cannot act.
    auditor = Browser(base)
    assert auditor.sign_in("auditor", PASSWORDS["auditor"])[0] == 200
    status, _, html = auditor.open("/escalations/F3%3Aissue_enforcement_document")
    assert status == 200 and 'id="act"' not in html
    refused = auditor.open("/escalations/F3%3Aissue_enforcement_document/act",
                           {"csrf": _field(html, "csrf"), "action_id": "d" * 32,
                            "action": "acknowledge"})
    assert refused[0] == 403

    # The city safety office, from the command line: its queue, then the acknowledgement.
    kafka.vars["INSPECTIONS_PASSWORD"] = PASSWORDS["city-office"]
    try:
        queue = json.loads(kafka.cli("queue", "--as", "city-office", "--json").stdout)
        assert [d["subject_id"] for d in queue["due"]] == ["F2:report_major_hazard"]
        done = kafka.cli("act", "acknowledge", "F2:report_major_hazard", "--as", "city-office",
                         "--json", check=False)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["state"] == "done"
        not_theirs = kafka.cli("act", "acknowledge", "F3:issue_enforcement_document",
                               "--as", "city-office", check=False)
        assert not_theirs.returncode == 3 and "held by local_regulator" in not_theirs.stderr
        kafka.vars["INSPECTIONS_PASSWORD"] = "wrong-password"
        assert kafka.cli("queue", "--as", "city-office", check=False).returncode == 3
    finally:
        kafka.vars.pop("INSPECTIONS_PASSWORD")

    # What was published: three actions, each once, naming its account.
    acted = [json.loads(r.value) for r in read_all(kafka.bootstrap, f"{prefix}.events")]
    acted = sorted((e for e in acted if e.get("actor")), key=lambda e: e["time"])
    assert sorted((e["type"], e["actor"]) for e in acted) == [
        ("enforcement.document.issued", "changtai-reg"),
        ("escalation.acknowledged", "city-office"),
        ("escalation.acknowledged", "pinghe-committee")]
    assert {e["data"]["by"] for e in acted if "by" in e["data"]} == {"city-office",
                                                                     "pinghe-committee"}
    # Who did what: the trail of each escalation names the account; the page's access log
    # has each request with its account.
    trail = kafka.cli("audit", "trail", "F1:issue_enforcement_document").stdout
    assert "enforcement.document.issued" in trail and "by changtai-reg" in trail
    assert "by city-office" in kafka.cli("audit", "trail", "F2:report_major_hazard").stdout
    access = [json.loads(line) for line in (tmp_path / "operator.log").read_text().splitlines()
              if '"access"' in line]
    assert {"method": "POST", "path": "/escalations/F1:issue_enforcement_document/act",
            "account": "changtai-reg", "status": 303} in [
        {k: a.get(k) for k in ("method", "path", "account", "status")} for a in access]

    # Wrong passwords: five from this address (the command's above, four here), then its
    # sign-ins wait (429), the right password too.
    pinghe = Browser(base)
    codes = [pinghe.sign_in("pinghe-reg", "not-the-password")[0] for _ in range(4)]
    assert codes == [401] * 4
    assert pinghe.sign_in("pinghe-reg", PASSWORDS["pinghe-reg"])[0] == 429
    log = (tmp_path / "operator.log").read_text()
    assert "sign-in refused" in log and PASSWORDS["pinghe-reg"] not in log
    assert "not-the-password" not in log
    assert worker.poll() is None


def _in_chromium(browser, base: str, kafka) -> None:
    """The county's safety committee in a real browser: sign in, the queue, the button."""
    from selenium.webdriver.common.by import By

    escalation = "F4:recommend_listed_supervision"
    browser.get(base + "/")
    assert "/signin" in browser.current_url
    browser.find_element(By.NAME, "name").send_keys("pinghe-committee")
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS["pinghe-committee"])
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait_for(lambda: "/signin" not in browser.current_url, "signed in", 30)
    assert browser.current_url == base + "/queue"
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tr[data-subject]")
    assert [r.get_attribute("data-subject") for r in rows] == [escalation]
    assert re.search(r"\b\d+ d \d+ h\b", rows[0].text), rows[0].text  # 72 h, counting down
    rows[0].find_element(By.LINK_TEXT, escalation).click()
    browser.find_element(By.CSS_SELECTOR, 'form[data-action="acknowledge"] button').click()
    wait_for(lambda: "/outcome/act-" in browser.current_url, "the form's answer", 30)
    wait_for(lambda: browser.find_element(By.ID, "outcome").get_attribute("data-state")
             == "done" or browser.refresh(), "the acknowledgement applied", 60)
    assert "已办结 Done" in browser.find_element(By.ID, "outcome").text
    # The trail names the committee's account.
    assert "by pinghe-committee" in kafka.cli("audit", "trail", escalation).stdout


def _json(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())

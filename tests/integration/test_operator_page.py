"""The operator page in a real browser: headless Chromium (Debian's, driven through its
chromedriver by Selenium) opens the board and a unit's page after a short scenario published
with `inspections simulate`, and finds the units, the escalations and the breaches; a finding
whose description holds a script shows it as text and runs nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import yaml

from tests.integration.kafka_io import wait_for
from tests.integration.support import SCENARIO, SCRIPT

def test_the_board_and_a_problem_list_in_a_browser(deployment, kafka, tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from inspections.simulation.demo import caught_up
    from runtime.config.settings import Settings

    for service in ("scheduler", "findings", "escalation"):
        deployment.start(service)
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)
    for service in ("scheduler", "findings", "escalation"):
        kafka.cli("ready", service, "--wait", "120")
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
    kafka.cli("simulate", str(scenario), "--speed", "0")
    settings = Settings(bootstrap_servers=kafka.bootstrap, topic_prefix=deployment.prefix)
    wait_for(lambda: caught_up(settings), "the services to catch up")

    base = f"http://127.0.0.1:{int(kafka.vars['INSPECTIONS_WEB_PORT_BASE']) + 3}"

    def breach_rows():
        browser.get(base + "/")
        return {row.get_attribute("data-kind")
                for row in browser.find_elements(By.CSS_SELECTOR, "#breaches tr[data-kind]")}

    wait_for(lambda: {"community_coverage_short", "escalation_unacknowledged"}
              <= breach_rows(), "the breaches on the board")

    units = {row.get_attribute("data-unit"): row.text
             for row in browser.find_elements(By.CSS_SELECTOR, "#units tr[data-unit]")}
    assert set(units) == {"changtai", "taishang"}
    assert "长泰县" in units["changtai"] and "台商投资区" in units["taishang"]
    assert "community_coverage_short" in units["taishang"]
    assert "测试巡查 test campaign" in browser.find_element(By.TAG_NAME, "h1").text
    assert "2 / 2" in browser.find_element(By.ID, "coverage").text

    escalations = {row.get_attribute("data-escalation"): row.text
                   for row in browser.find_elements(By.CSS_SELECTOR,
                                                    "#escalations tr[data-escalation]")}
    top = next(eid for eid in escalations if eid.endswith(":report_major_hazard"))
    assert "missed_at_top" in escalations[top] and "市政府 city government" in escalations[top]
    assert " d " in escalations[top]  # overdue for days

    # The kind filter leaves only that kind.
    Select(browser.find_element(By.NAME, "kind")).select_by_value("community_coverage_short")
    browser.find_element(By.CSS_SELECTOR, "#breach-filter button").click()
    wait_for(lambda: "kind=community_coverage_short" in browser.current_url, "the filter")
    kinds = {row.get_attribute("data-kind")
             for row in browser.find_elements(By.CSS_SELECTOR, "#breaches tr[data-kind]")}
    assert kinds == {"community_coverage_short"}

    # A unit's problem list: the description with a script in it is text, and runs nothing.
    browser.find_element(By.LINK_TEXT, "长泰县").click()
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#findings td.description")]
    assert SCRIPT in cells
    assert len(cells) == 5
    assert browser.execute_script("return window.__xss === undefined")
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert "<script>" not in urllib.request.urlopen(f"{base}/units/changtai").read().decode()

    # What is due and what was rejected, beside the board; the annual assessment, its table
    # and its downloads the same as the command's.
    browser.get(base + "/")
    assert browser.find_elements(By.CSS_SELECTOR, "table#due")
    assert "none rejected" in browser.find_element(By.ID, "rejected-causes").text
    browser.find_element(By.ID, "assessment-link").click()
    rows = {row.get_attribute("data-unit"): row.text
            for row in browser.find_elements(By.CSS_SELECTOR, "#assessment tr[data-unit]")}
    assert set(rows) == {"changtai", "taishang"} and "长泰县" in rows["changtai"]
    assert "community_coverage_short 1" in rows["taishang"]
    exported = tmp_path / "assessment.csv"
    kafka.cli("assessment", "export", "--year", "2026", "--out", str(exported))
    assert urllib.request.urlopen(f"{base}/assessments/2026.csv").read() == \
        exported.read_bytes()
    xlsx = tmp_path / "assessment.xlsx"
    kafka.cli("assessment", "export", "--year", "2026", "--format", "xlsx", "--out", str(xlsx))
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert [c.value for c in sheet["A"]][1:] == ["changtai", "taishang"]
    bad = kafka.cli("assessment", "export", "--year", "2026", "--format", "pdf", check=False)
    assert bad.returncode == 2 and "csv or xlsx" in bad.stderr

    # The pictures, drawn on the server, in the browser: coverage over time and its bars on
    # the board, the visits' timeline and the burn-down, an escalation's ladder; search.
    browser.get(base + "/")
    assert browser.find_elements(By.CSS_SELECTOR, "#coverage-steps svg polyline.coverage")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#coverage-bars svg g.unit")) == 2
    assert "As of" in browser.find_element(By.ID, "as-of").text
    browser.find_element(By.ID, "timeline-link").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#gantt svg g.visit")) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#burndown svg polyline.series")
    browser.get(base + "/")
    browser.find_element(By.CSS_SELECTOR, f'tr[data-escalation="{top}"] a').click()
    levels = browser.find_elements(By.CSS_SELECTOR, "#ladder svg g.level")
    assert len(levels) == 3  # city safety office, committee, government
    assert "escalation_unacknowledged" in browser.find_element(By.ID, "ladder").text
    assert browser.find_elements(By.CSS_SELECTOR, "#history tr[data-what='missed']")
    finding_id = top.split(":")[0]
    box = browser.find_element(By.NAME, "q")
    box.send_keys(finding_id)
    box.submit()
    wait_for(lambda: "/findings/" in browser.current_url, "the search to lead to the finding")
    assert finding_id in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_elements(By.CSS_SELECTOR, "#finding-escalations a")
    browser.get(base + "/search?q=no-such-thing")
    assert "No unit, visit, finding or escalation" in browser.find_element(By.ID, "reason").text
    assert browser.find_elements(By.TAG_NAME, "script") == []

    # The board and a unit's page as they were at the end of a past day: on 20 April both
    # visits were on site (none ended: nothing inspected, no coverage judged short yet). The
    # services replay the log up to then; until they are done the page says how far they are.
    def past_board():
        browser.get(base + "/?as_of=2026-04-20")
        return bool(browser.find_elements(By.ID, "coverage"))

    wait_for(past_board, "the board of 20 April")
    assert "0 / 2" in browser.find_element(By.ID, "coverage").text
    assert "2026-04-21T00:00:00+08:00" in browser.find_element(By.ID, "past").text
    past_kinds = {row.get_attribute("data-kind") for row in
                  browser.find_elements(By.CSS_SELECTOR, "#breaches tr[data-kind]")}
    assert "community_coverage_short" not in past_kinds
    assert browser.find_element(By.NAME, "as_of").get_attribute("value") == "2026-04-20"
    browser.get(base + "/units/changtai?as_of=2026-04-20")
    wait_for(lambda: browser.find_elements(By.ID, "visits")
             or browser.get(base + "/units/changtai?as_of=2026-04-20"), "the unit then")
    assert "驻点中 on site" in browser.find_element(By.ID, "visits").text
    browser.find_element(By.LINK_TEXT, "回到现在 Back to now").click()
    assert not browser.find_elements(By.ID, "past")

    # Bad input to the new pages: a clear answer naming what is wrong.
    def status_and_text(path):
        try:
            answer = urllib.request.urlopen(base + path)
            return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    for path, code, words in (("/assessments/20x6", 400, "a year such as 2026"),
                              ("/assessments/2026.pdf", 400, "2026.csv or 2026.xlsx"),
                              ("/search?q=", 400, "type an id to find"),
                              ("/rejected/no-such-id", 404, "no rejected record no-such-id"),
                              ("/campaigns/nope/timeline", 404, "no campaign nope"),
                              ("/escalations/nope", 404, "no escalation nope"),
                              ("/due?due_within=soon", 400, "a number and a unit"),
                              ("/rejected?since=yesterday", 400, "since must be a time"),
                              ("/?as_of=yesterday", 400, "as_of must be a day"),
                              ("/units/changtai?as_of=2026-04-20T00:00:00", 400,
                               "needs its offset")):
        status, text = status_and_text(path)
        assert status == code and words in text, (path, status)

    # Security headers on every answer, and a path part that tries to leave its view stays
    # one quoted segment (it never reaches a worker's /metrics with the page's token).
    from inspections.page.server import SECURITY_HEADERS

    for path in ("/", "/units/changtai", "/nothing-here", "/search?q=changtai"):
        try:
            answer = urllib.request.urlopen(base + path)
        except urllib.error.HTTPError as exc:
            answer = exc
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value, (path, name)
    status, text = status_and_text("/units/..%2Fmetrics")
    assert status == 404 and "inspections_events_processed_total" not in text
    status, text = status_and_text("/units/changtai%2F..%2F..%2Fmetrics")
    assert "inspections_events_processed_total" not in text

    # The breaches in pages: every one once, in order.
    whole = json.loads(urllib.request.urlopen(f"{base}/breaches.json").read())
    walked, cursor = [], ""
    while True:
        page = json.loads(urllib.request.urlopen(
            f"{base}/breaches.json?limit=2&cursor={urllib.parse.quote(cursor)}").read())
        walked += page["breaches"]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert walked == whole["breaches"] and len(walked) >= 3
    assert status_and_text("/breaches.json?limit=x")[0] == 400

"""Notices: the directory read and checked; each step's alert in Chinese first, labelled for
its recipient; Alertmanager's routes from the directory, each notice once."""

from __future__ import annotations

import pytest
import yaml

from inspections.alerting import notices, routes
from inspections.alerting.directory import Directory, DirectoryError, load
from tests.conftest import REPO
from tests.examples import event

DIRECTORY = Directory.model_validate({
    "city": {"city_safety_office": [{"name": "安办", "email": "anban@city.test"}]},
    "units": {"pinghe": {"name": "平和县", "local_regulator": [
        {"name": "应急局", "email": "yjj@pinghe.test", "chat": "https://chat.test/robot"}]}},
})


def _raised(level=1, authority="local_regulator", kind="escalation.raised"):
    body = event(kind)
    body["data"].update(level=level, authority=authority, unit_id="pinghe",
                        due="2026-04-18T01:00:00+00:00")
    return body


def test_times_and_what_is_left_as_people_read_them():
    assert notices.local("2026-04-18T01:00:00+00:00", "Asia/Shanghai") == "2026年4月18日 09:00"
    assert notices.remaining(3 * 86400 + 4 * 3600 + 59) == ("剩余 3 天 4 小时", "3 d 4 h left")
    assert notices.remaining(2 * 3600 + 5 * 60) == ("剩余 2 小时 5 分钟", "2 h 5 min left")


def test_an_escalation_raised_or_taken_up_is_its_authority_s_notice():
    raised = notices.assigned(_raised(), DIRECTORY, "Asia/Shanghai", "http://page")
    assert raised["labels"] == {
        "alertname": "ObligationAssigned", "notice": "assigned", "unit": "pinghe",
        "authority": "local_regulator", "escalation_id": raised["labels"]["escalation_id"],
        "level": "1", "severity": "warning"}
    assert raised["annotations"]["subject"].startswith("【督办交办】平和县：")
    assert "2026年4月18日 09:00" in raised["annotations"]["subject"]
    assert raised["annotations"]["summary_en"].startswith("pinghe: finding")
    assert raised["endsAt"] == "2026-04-18T01:00:00+00:00"
    up = notices.assigned(_raised(2, "city_safety_office", "escalation.escalated"), DIRECTORY,
                          "Asia/Shanghai", "http://page")
    assert up["annotations"]["subject"].startswith("【督办升级】")
    assert "升至第 2 级" in up["annotations"]["summary"]


def test_a_reminder_goes_to_whoever_owes_it():
    item = {"kind": "rectification_report", "subject_id": "visit-1", "unit_id": "pinghe",
            "due": "2026-06-01T00:00:00+08:00", "authority": None, "detail": "",
            "level": None, "remaining_s": 3 * 3600}
    made = notices.reminder(item, DIRECTORY, "Asia/Shanghai", "http://page")
    assert made["labels"]["authority"] == "unit_government"
    assert made["labels"]["notice"] == "reminder" and "level" not in made["labels"]
    assert "剩余 3 小时 0 分钟" in made["annotations"]["subject"]
    assert notices.due_soon([item, {**item, "remaining_s": 5 * 3600},
                             {**item, "remaining_s": -1}, {**item, "remaining_s": None}],
                            __import__("datetime").timedelta(hours=4)) == [item]


def test_the_routes_send_each_recipient_s_notices_once_then_go_on():
    base = yaml.safe_load((REPO / "deploy/alertmanager/alertmanager.yml").read_text())
    made = routes.config(base, DIRECTORY, smtp={"smtp_smarthost": "mail:25"})
    first = made["route"]["routes"][:3]
    assert [r["receiver"] for r in first] == ["notices city city_safety_office",
                                              "notices pinghe local_regulator",
                                              routes.NOBODY]
    assert first[0]["matchers"] == ['notice=~"assigned|reminder|breached"',
                                    'authority="city_safety_office"']
    assert 'unit="pinghe"' in first[1]["matchers"]
    assert all(r["continue"] and r["group_by"] == ["..."] and r["repeat_interval"] == "8760h"
               for r in first[:2])
    assert made["route"]["routes"][3:] == base["route"]["routes"]
    receivers = {r["name"]: r for r in made["receivers"]}
    assert receivers["notices pinghe local_regulator"]["email_configs"][0]["to"] == \
        "yjj@pinghe.test"
    assert receivers["notices pinghe local_regulator"]["webhook_configs"] == [
        {"url": "https://chat.test/robot", "send_resolved": False}]
    assert made["global"]["smtp_smarthost"] == "mail:25"
    assert made["templates"] == ["notices.tmpl"]


def test_the_example_directory_is_good(tmp_path):
    assert load(REPO / "deploy/directory.yaml").unit_name("pinghe") == "平和县"


@pytest.mark.parametrize("text, says", [
    ("city: {local_regulator: []}", "no authority of the city's"),
    ("units: {pinghe: {local_regulator: [{name: x, email: not-an-address}]}}",
     "not an e-mail address"),
    ("units: {pinghe: {mayor: []}}", "units.pinghe.mayor"),
    ("units: [", "not a readable directory file"),
])
def test_a_bad_directory_says_where(tmp_path, text, says):
    (tmp_path / "d.yaml").write_text(text)
    with pytest.raises(DirectoryError, match=says):
        load(tmp_path / "d.yaml")


def test_alertmanager_takes_the_routes_made_from_the_example_directory(tmp_path):
    import shutil
    import subprocess

    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: `make test` installs prometheus-alertmanager"
    base = yaml.safe_load((REPO / "deploy/alertmanager/alertmanager.yml").read_text())
    made = routes.config(base, load(REPO / "deploy/directory.yaml"),
                         str(REPO / "deploy/alertmanager/notices.tmpl"),
                         {"smtp_smarthost": "mail.test:25", "smtp_from": "n@test"})
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(made, allow_unicode=True))
    done = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr

    def receivers(**labels: str) -> list[str]:
        found = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}",
                                *(f"{k}={v}" for k, v in labels.items())],
                               capture_output=True, text=True, timeout=60)
        assert found.returncode == 0, found.stdout + found.stderr
        return found.stdout.strip().split(",")

    assert receivers(alertname="ObligationAssigned", notice="assigned", unit="pinghe",
                     authority="local_regulator") == ["notices pinghe local_regulator",
                                                      routes.NOBODY]
    assert receivers(alertname="ObligationDueSoon", notice="reminder", unit="changtai",
                     authority="city_safety_office") == ["notices city city_safety_office",
                                                         routes.NOBODY]
    # A breach reaches its authority's people, and the breaches' receiver as before.
    assert receivers(alertname="DeadlineBreached", notice="breached", unit="pinghe",
                     authority="local_regulator", severity="warning") == [
        "notices pinghe local_regulator", "breaches"]

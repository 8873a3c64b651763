"""Notices reach the people who must act, on the real broker: with a directory, `inspections
notify` posts a notice when an escalation becomes an authority's and a reminder before it
falls due; a real Alertmanager, configured by `inspections notices config`, sends each by
e-mail, in Chinese, to the unit's authority (or the city's) through a real SMTP server the
test runs and reads; a restart of notify sends nothing twice."""

from __future__ import annotations

import email
import email.policy
import subprocess
import time
from datetime import datetime, timedelta, timezone

import yaml

from tests.conftest import REPO, free_port
from tests.examples import event
from tests.integration.kafka_io import settled, wait_for
from tests.integration.support import alertmanager

DIRECTORY = {
    "city": {"city_safety_office": [{"name": "市政府安办值班室", "email": "anban@city.test"}]},
    "units": {"pinghe": {"name": "平和县", "local_regulator": [
        {"name": "平和县应急管理局", "email": "yjj@pinghe.test"}]}},
}


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [m["Subject"] for rcpt, m in self.messages if address in rcpt]

    def stop(self) -> None:
        self.controller.stop()


def _finding(fid: str, unit: str, category: str, at: datetime) -> dict:
    body = event("finding.recorded", id=f"ev-{fid}", time=at.isoformat(), subject=unit)
    body["data"].update(finding_id=fid, unit_id=unit, category=category,
                        visit_id=f"visit-{unit}", cannot_ensure_safety=False,
                        listed_supervision_advised=False)
    return body


def _alertmanager(kafka, tmp_path, directory, mailbox: Mailbox) -> tuple[subprocess.Popen, str]:
    base = yaml.safe_load((REPO / "deploy/alertmanager/alertmanager.yml").read_text())
    (tmp_path / "token").write_text("unused-token\n")
    for receiver in base["receivers"]:  # the duty officer's webhook: nowhere, in this test
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"http://127.0.0.1:{free_port()}/alerts"
            hook["http_config"]["authorization"]["credentials_file"] = str(tmp_path / "token")
    (tmp_path / "base.yml").write_text(yaml.safe_dump(base))
    config = tmp_path / "alertmanager.yml"
    kafka.cli("notices", "config", "--directory", str(directory), "--base",
              str(tmp_path / "base.yml"), "--out", str(config), "--template",
              str(REPO / "deploy/alertmanager/notices.tmpl"),
              "--smtp-smarthost", f"127.0.0.1:{mailbox.port}",
              "--smtp-from", "notices@inspections.test", "--no-smtp-require-tls")
    checked = subprocess.run(["amtool", "check-config", str(config)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return alertmanager(config, tmp_path)


def test_notices_reach_whoever_must_act_once(kafka, deployment, tmp_path):
    directory = tmp_path / "directory.yaml"
    directory.write_text(yaml.safe_dump(DIRECTORY, allow_unicode=True), encoding="utf-8")
    mailbox = Mailbox()
    try:
        _notices(kafka, deployment, tmp_path, directory, mailbox)
    finally:
        mailbox.stop()
        for key in ("INSPECTIONS_ALL_URL", "INSPECTIONS_ALERTMANAGER_URL",
                    "INSPECTIONS_DIRECTORY_FILE", "INSPECTIONS_METRICS_INTERVAL_S"):
            kafka.vars.pop(key, None)


def _notices(kafka, deployment, tmp_path, directory, mailbox):
    from runtime.config.settings import Settings

    manager, url = _alertmanager(kafka, tmp_path, directory, mailbox)
    deployment.workers.append(manager)
    worker = deployment.start("all")
    base = Settings(web_port_base=int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])).web_port_base
    kafka.vars.update(INSPECTIONS_ALL_URL=f"http://127.0.0.1:{base + 4}",
                      INSPECTIONS_ALERTMANAGER_URL=url,
                      INSPECTIONS_DIRECTORY_FILE=str(directory),
                      INSPECTIONS_METRICS_INTERVAL_S="1")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    deployment.publish([
        # Pinghe's regulator must issue a document within 24 h: by stream time (N2's, an hour
        # ago) 3 h are left: a reminder.
        _finding("N1", "pinghe", "violation", now - timedelta(hours=22)),
        # The city safety office gets a major hazard of Changtai's, 23 h to go (no reminder).
        _finding("N2", "changtai", "major_hazard", now - timedelta(hours=1)),
    ])
    settled(kafka, deployment.prefix, workers=["all"])
    kafka.cli("ready", "all", "--wait", "60")
    notify = kafka.spawn("notify", log=tmp_path / "notify.log")
    deployment.workers.append(notify)

    def arrived() -> bool:
        return len(mailbox.to("yjj@pinghe.test")) >= 2 and mailbox.to("anban@city.test")

    wait_for(arrived, "the notices in the mailbox", 120)
    pinghe = sorted(mailbox.to("yjj@pinghe.test"))
    assert pinghe[0].startswith("【到期提醒】平和县：") and "剩余 3 小时" in pinghe[0], pinghe
    assert pinghe[1].startswith("【督办交办】平和县：下达执法文书，由属地监管部门办理"), pinghe
    city = mailbox.to("anban@city.test")
    assert city == [next(s for s in city if s.startswith("【督办交办】changtai：上报重大隐患"))]
    body = next(m for rcpt, m in mailbox.messages if "yjj@pinghe.test" in rcpt
                and m["Subject"].startswith("【督办交办】"))
    text = body.get_body(preferencelist=("plain",)).get_content()
    assert "现交由属地监管部门办理" in text and "issue an enforcement document" in text
    assert "/escalations/N1:issue_enforcement_document" in text

    # notify again (a restart): nothing new is sent, the reminder posted again is the same.
    notify.terminate()
    assert notify.wait(60) == 0
    count = len(mailbox.messages)
    again = kafka.spawn("notify", log=tmp_path / "notify-2.log")
    deployment.workers.append(again)
    wait_for(lambda: "reminders" in (tmp_path / "notify-2.log").read_text(),
             "the reminder posted again", 60)
    time.sleep(5)  # Alertmanager's group wait is 0 s: a second notice would be out by now
    assert len(mailbox.messages) == count, [m["Subject"] for _, m in mailbox.messages]
    assert worker.poll() is None

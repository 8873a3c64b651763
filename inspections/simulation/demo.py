"""``inspections demo``: the whole system doing its real job on the local broker.

The broker and the topics, then — under honcho, a Procfile-style process supervisor — the three
services, the operator page and the campaign: the seed's scenario published through the public
contract, a summary once every service has caught up, and the addresses to explore. Ctrl-C
(or, with ``--exit``, the end of the campaign) stops every process it started; honcho stops
them all as soon as one ends, so a crashed worker ends the demo and says so.

The workers run with the clock publisher off: time is the scenario's, not the wall clock's.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import services
from inspections.localkafka import LocalBroker
from kernel.paging import MAX_PAGE
from kernel.vocabulary import SERVICES
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner.app import web_port
from runtime.plumbing import kafka

SCENARIO = "zhangzhou-2026"
STOP_WAIT_S = 40  # faust commits and closes its tables on SIGTERM: give it time


def _command(*args: str, log=None) -> str:
    words = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "inspections.cli", *args))
    return f"exec {words} >> {shlex.quote(str(log))} 2>&1" if log else f"exec {words}"


def run(settings: Settings, keep_running: bool, speed: float | None = None,
        say=print) -> int:
    from honcho import manager as honcho
    from honcho.printer import Printer

    broker = None
    if not settings.bootstrap_servers:
        broker = LocalBroker(settings, say=say)
        already = broker.status().running
        broker.start()
        if already:
            broker = None  # not ours to stop
    admin = kafka.admin(settings)
    try:
        for report in topics.ensure_topics(admin, settings):
            if report.action != "exists":
                say(f"topic {report.name}: {report.action}")
    finally:
        admin.close()

    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "INSPECTIONS_CLOCK_INTERVAL_S": "0", "INSPECTIONS_LOG_FORMAT": "json",
           "PYTHONUNBUFFERED": "1"}
    if not settings.accounts_file:  # the demo's own accounts, never a deployment's file
        env["INSPECTIONS_ACCOUNTS_FILE"] = str(demo_accounts(settings))
    honcho.KILL_WAIT = STOP_WAIT_S
    supervisor = honcho.Manager(Printer(sys.stdout))
    for service in SERVICES:
        supervisor.add_process(service, _command("run", service, log=log_dir / f"{service}.log"),
                               env=env)
    supervisor.add_process("operator", _command("operator", log=log_dir / "operator.log"),
                           env=env)
    campaign = ["demo-campaign"] + ([] if keep_running else ["--exit"])
    if speed is not None:
        campaign += ["--speed", str(speed)]
    supervisor.add_process("campaign", _command(*campaign), env=env)
    say(f"logs of the services and the page: {log_dir}/")
    try:
        supervisor.loop()
    finally:
        if broker is not None:
            broker.stop()
    code = supervisor.returncode
    return 0 if code in (0, None) or (keep_running and code in (130, 143)) else 1


# -- the demo's accounts ----------------------------------------------------------------------
DEMO_UNIT = "pinghe"
# The demo's accounts: (name, role, authority, unit, display).
DEMO_ACCOUNTS = (
    ("city-office", "city", "city_safety_office", None, "市政府安办 city safety office"),
    ("city-government", "city", "city_government", None, "市政府 city government"),
    (f"{DEMO_UNIT}-regulator", "unit", "local_regulator", DEMO_UNIT, "平和县应急管理局"),
    (f"{DEMO_UNIT}-government", "unit", "unit_government", DEMO_UNIT, "平和县人民政府"),
    ("auditor", "auditor", None, None, "审计 auditor"),
)


def demo_accounts(settings: Settings) -> Path:
    """A fresh accounts file of the demo's own (``<home>/demo/accounts.yaml``), one password
    for all made anew each run, and a note saying how to sign in (``signin.txt``, owner-only)."""
    import secrets

    from inspections.accounts.roles import Account
    from inspections.accounts.store import hashed, write

    folder = settings.home / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(9)
    digest = hashed(password)
    write(folder / "accounts.yaml", {
        name: Account(name, role, authority, (unit,) if unit else (), display, digest)
        for name, role, authority, unit, display in DEMO_ACCOUNTS})
    note = folder / "signin.txt"
    note.touch(mode=0o600)
    note.write_text(
        "sign in         " + ", ".join(name for name, *_ in DEMO_ACCOUNTS)
        + f" (each with the password {password}; this demo's only)\n", encoding="utf-8")
    return folder / "accounts.yaml"


def signin_note(settings: Settings) -> list[str]:
    note = settings.home / "demo" / "signin.txt"
    if not settings.accounts_file or not str(settings.accounts_file).startswith(
            str(settings.home / "demo")) or not note.exists():
        return []
    return note.read_text(encoding="utf-8").splitlines()


# -- the campaign process -------------------------------------------------------------------
def caught_up(settings: Settings) -> bool:
    """Every service's consumer group has committed every record of the topics it reads.
    Asked upstream first (findings reads the breaches the other two emit)."""
    probe = kafka.LagProbe(settings)
    try:
        return all(probe.behind(settings.app_id(service),
                                services.sources(service, settings)) == 0
                   for service in ("scheduler", "escalation", "findings"))
    finally:
        probe.close()


def _policy_adopted(settings: Settings, say, wait_s: float = 30) -> None:
    """Until the scheduler has adopted its starting policy into the empty log (so that it is
    the log's first record, before the campaign's), or ``wait_s`` has passed."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if (_view(settings, "scheduler", "/policy") or {}).get("history"):
                return
        except OSError:
            pass
        time.sleep(1)
    say("the scheduler has not adopted its starting policy into the log yet: going on")


def _view(settings: Settings, service: str, path: str):
    from runtime.plumbing import webauth

    url = f"http://127.0.0.1:{web_port(settings, service)}{path}"
    try:
        request = urllib.request.Request(url, headers=webauth.headers(settings))
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def _derived(settings: Settings, canonical: str) -> list[dict]:
    from runtime.plumbing.kafka import stream_log

    seen: dict[str, dict] = {}
    for record in stream_log(settings, topics.name(settings, canonical)):
        event = json.loads(record.value)
        seen[event["id"]] = event  # a redelivered copy is the same event
    return list(seen.values())


def summary(settings: Settings, campaign_id: str) -> list[str]:
    """The closing lines: coverage, escalations by authority and level, breaches by kind,
    late reports — read from the views and the derived topics, as an operator would."""
    from kernel.vocabulary import AUTHORITIES, REPORT_OVERDUE

    campaign = _view(settings, "scheduler", f"/campaigns/{campaign_id}")
    open_now = _view(settings, "escalation", f"/escalations?limit={MAX_PAGE}")["escalations"]
    notices = _derived(settings, topics.ESCALATIONS)
    breaches = _derived(settings, topics.BREACHES)
    lines = []
    if campaign:
        missing = ", ".join(campaign["units_missing"]) or "none"
        lines.append(f"units covered: {campaign['units_inspected']} of "
                     f"{campaign['units_planned']} inspected in time "
                     f"({campaign['coverage']:.0%}); missing: {missing}")
        late = {v["visit_id"] for u in campaign["units"] for v in u["visits"]
                if v.get("report_on_time") is False}
        unsent = {b["data"]["subject_id"] for b in breaches
                  if b["data"]["kind"] == REPORT_OVERDUE} - late
        lines.append(f"rectification reports late: {len(late) + len(unsent)} "
                     f"({len(late)} submitted after the due time, {len(unsent)} not submitted)")
    levels = Counter((n["data"]["authority"], n["data"]["level"]) for n in notices)
    still = Counter((e["authority"], e["level"]) for e in open_now)
    lines.append(f"escalations: {sum(1 for n in notices if n['type'] == 'escalation.raised')} "
                 f"raised, {sum(1 for n in notices if n['type'] == 'escalation.escalated')} "
                 f"taken a level up, {len(open_now)} open now")
    for (authority, level), n in sorted(levels.items(), key=lambda x: (x[0][1], x[0][0])):
        open_part = f", {still[(authority, level)]} open" if still[(authority, level)] else ""
        lines.append(f"  level {level}  {AUTHORITIES.get(authority, authority)}: {n}{open_part}")
    lines.append(f"breaches: {len(breaches)}")
    for kind, n in Counter(b["data"]["kind"] for b in breaches).most_common():
        lines.append(f"  {kind}: {n}")
    lines += aftercare_lines(settings, campaign_id)
    return lines


def aftercare_lines(settings: Settings, campaign_id: str) -> list[str]:
    """After-care (跟踪监督) in a few lines: the ledger by state, follow-ups, checks, the
    boards, the reports to the city government."""
    from kernel.vocabulary import LEDGER_STATES

    ledger = _view(settings, "findings", f"/ledger?campaign={campaign_id}")
    if not ledger:
        return []
    listed = _view(settings, "findings", "/listed") or {"listed": []}
    transfers = _view(settings, "findings", "/transfers") or {"transfers": []}
    status = _view(settings, "scheduler", f"/campaigns/{campaign_id}/status-reports") or {
        "owed": [], "sent": []}
    by_state = ", ".join(f"{s} {ledger['by_state'][s]}" for s in LEDGER_STATES)
    checks = Counter()
    for unit in ledger["units"]:
        checks.update(unit["checks_by_method"])
    missed = sorted(o["unit_id"] for o in status["owed"] if o["breached_at"])
    return [
        f"rectification ledger (整改台账): {by_state}; follow-ups open "
        f"{sum(u['follow_ups_open'] for u in ledger['units'])}, overdue "
        f"{sum(u['follow_ups_overdue'] for u in ledger['units'])}",
        "checks after the reports: " + ", ".join(f"{m} {n}" for m, n in sorted(checks.items()))
        + f"; reported with no look-back yet: {len(ledger['no_look_back'])}",
        f"listed hazards (挂牌督办) not lifted: {len(listed['listed'])}; transfers without an "
        f"outcome: {len(transfers['transfers'])}",
        f"status reports to the city government: {len(status['sent'])} sent; units named "
        f"late or never: {', '.join(missed) or 'none'}",
    ]


def addresses(settings: Settings, campaign_id: str, unit: str) -> list[str]:
    from inspections.page import server as operator

    def at(service: str) -> str:
        return f"http://127.0.0.1:{web_port(settings, service)}"

    return [
        f"operator page   http://{operator.host(settings)}:{operator.port(settings)}/",
        f"campaign view   {at('scheduler')}/campaigns/{campaign_id}",
        f"problem list    {at('findings')}/units/{unit}/findings",
        f"ledger          http://{operator.host(settings)}:{operator.port(settings)}"
        f"/ledger?campaign={campaign_id}",
        f"escalations     {at('escalation')}/escalations",
        "metrics         " + "  ".join(f"{at(s)}/metrics" for s in SERVICES),
        f"Kafka           {settings.bootstrap} (topics {settings.topic_prefix}.*)",
    ]


def campaign(settings: Settings, keep_running: bool, publish, say=print) -> int:
    """Wait for the services, publish the scenario (``publish``: the simulate command's
    body), wait until they have processed it all, and print what came of it."""
    from inspections.simulation import simulate

    plan = simulate.load(simulate.find(SCENARIO))
    deadline = time.monotonic() + 180
    for service in SERVICES:
        while True:
            try:
                if _view(settings, service, "/readyz"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                say(f"the {service} service did not become ready; see its log")
                return 1
            time.sleep(1)
    _policy_adopted(settings, say)
    say("services ready; the campaign begins")
    publish(plan)
    say("waiting for the services to process everything ...")
    deadline = time.monotonic() + 300
    while not (caught_up(settings) and (time.sleep(2) or caught_up(settings))):
        if time.monotonic() > deadline:
            say("the services did not catch up within 5 minutes; see their logs")
            return 1
        time.sleep(1)
    for line in summary(settings, plan.campaign.id):
        say(line)
    for line in addresses(settings, plan.campaign.id, plan.visits[0].unit):
        say(line)
    for line in signin_note(settings):
        say(line)
    if not keep_running:
        return 0
    say("Ctrl-C stops the demo.")
    while True:
        time.sleep(3600)

"""`inspections demo --exit` as a user runs it: the seed's campaign through all three services
under the supervisor, a summary, and every process stopped at the end."""

from __future__ import annotations

import re
import uuid

from schemas.fields import BreachKind, values


def test_demo_runs_the_seed_campaign_and_stops_everything(kafka, tmp_path):
    prefix = f"demo{uuid.uuid4().hex[:6]}"
    saved = dict(kafka.vars)
    kafka.vars.update(INSPECTIONS_BOOTSTRAP_SERVERS=kafka.bootstrap,
                      INSPECTIONS_TOPIC_PREFIX=prefix, INSPECTIONS_HOME=str(tmp_path / "home"))
    try:
        done = kafka.cli("demo", "--exit", "--speed", "0", timeout=600)
    finally:
        kafka.vars.clear()
        kafka.vars.update(saved)
    out = done.stdout
    assert "units covered: 15 of 16 inspected in time (94%); missing: dongshan" in out, out
    assert re.search(r"rectification reports late: 2 \(1 submitted after the due time, "
                     r"1 not submitted\)", out)
    assert re.search(r"escalations: \d+ raised, \d+ taken a level up, 1 open now", out)
    assert re.search(r"level 3 +市政府 city government: 1, 1 open", out)
    listed = set(re.findall(r"^\S+ campaign +\|   ([a-z_]+): \d+$", out, re.M))
    assert listed == set(values(BreachKind))
    assert "operator page   http://127.0.0.1:" in out
    assert re.search(r"rectification ledger \(整改台账\): open \d+, claimed \d+, pending [1-9]",
                     out), out
    assert "units named late or never: nanjing" in out
    # Its accounts, of its own, and how to sign in with them.
    from inspections.accounts.store import Accounts

    password = re.search(r"sign in +city-office, .*pinghe-regulator.* \(each with the "
                         r"password (\S+); this demo's only\)", out).group(1)
    accounts = Accounts(tmp_path / "home" / "demo" / "accounts.yaml")
    assert accounts.verify("pinghe-regulator", password).units == ("pinghe",)
    assert accounts.verify("city-government", password).authority == "city_government"
    assert not (tmp_path / "home" / "accounts.yaml").exists()
    # The supervisor stopped every process it started, each cleanly.
    for name in ("scheduler", "findings", "escalation", "operator", "campaign"):
        assert re.search(rf"{name} stopped \(rc=0\)", out), (name, out[-2000:])
    # It used the suite's broker (the bootstrap setting) and started none of its own.
    assert not (tmp_path / "home" / "kafka").exists()
    assert (tmp_path / "home" / "logs" / "scheduler.log").stat().st_size > 0

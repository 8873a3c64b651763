"""The commands of the people who act: ``inspections accounts`` (who may sign in to the
operator page), ``inspections queue`` (what is mine to do) and ``inspections act`` (do it)."""

from __future__ import annotations

import json
import os

import typer

from inspections.cli.console import fail, load_settings, say
from kernel.vocabulary import AUTHORITIES, ROLES

accounts_app = typer.Typer(help="Who may sign in to the operator page, and as what.",
                           no_args_is_help=True)
PASSWORD_ENV = "INSPECTIONS_PASSWORD"


def _store():
    from inspections.accounts.store import Accounts

    return Accounts.of(load_settings())


def _new_password(from_stdin: bool) -> str:
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@accounts_app.command("add")
def add(
    name: str = typer.Argument(..., help="The account's name (lower-case letters, digits, . _ -)."),
    role: str = typer.Option(..., help=f"One of: {', '.join(ROLES)}."),
    authority: str = typer.Option(None, help="The authority it acts as: for city, "
                                  "city_safety_office, city_safety_committee or city_government; "
                                  "for unit, local_regulator, unit_government or "
                                  "unit_safety_committee; for authority, discipline_authorities."),
    unit: list[str] = typer.Option(None, help="A unit account's one unit (its unit_id); a "
                                   "publisher's units, one --unit each (none: any)."),
    event_type: list[str] = typer.Option(None, "--type", help="A publisher's event types, "
                                         "one --type each (finding.recorded, ...)."),
    display: str = typer.Option("", help="Who it is, as people read it (平和县应急管理局)."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
) -> None:
    """Add an account; its password (a publisher's secret) is asked for (twice) and kept as an
    argon2id hash."""
    from inspections.accounts.roles import Account, AccountError
    from inspections.accounts.store import check_name, hashed

    store = _store()
    units, types = tuple(unit or ()), tuple(event_type or ())
    try:
        check_name(name)
        Account(name, role, authority, units, display, types=types)  # checked first
        account = Account(name, role, authority, units, display,
                          hashed(_new_password(password_stdin)), types)
        store.add(account)
    except AccountError as exc:
        fail(str(exc), 2)
    say(f"added {account.label()} to {store.file}")


@accounts_app.command("remove")
def remove(name: str = typer.Argument(..., help="The account to remove.")) -> None:
    """Remove an account: its sessions end at their next request."""
    from inspections.accounts.roles import AccountError

    store = _store()
    try:
        store.remove(name)
    except AccountError as exc:
        fail(str(exc), 2)
    say(f"removed {name} from {store.file}")


@accounts_app.command("passwd")
def passwd(
    name: str = typer.Argument(..., help="The account whose password changes."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
) -> None:
    """Change an account's password: its sessions under the old one end."""
    from inspections.accounts.roles import AccountError

    store = _store()
    try:
        if store.get(name) is None:
            raise AccountError(f"no account {name} in {store.file}")
        store.passwd(name, _new_password(password_stdin))
    except AccountError as exc:
        fail(str(exc), 2)
    say(f"changed the password of {name}")


@accounts_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="As JSON.")) -> None:
    """The accounts (never their hashes)."""
    from inspections.accounts.roles import AccountError

    try:
        accounts = sorted(_store().all().values(), key=lambda a: a.name)
    except AccountError as exc:
        fail(str(exc), 2)
    rows = [{"name": a.name, "role": a.role, "authority": a.authority, "units": list(a.units),
             "types": list(a.types), "display": a.display} for a in accounts]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("账号 account", "角色 role", "部门 authority", "单位 units", "名称 display")
    for r in rows:
        table.add_row(r["name"], r["role"], AUTHORITIES.get(r["authority"] or "", "–")
                      + ("".join(f"\n{t}" for t in r["types"])),
                      ", ".join(r["units"]) or "全部 every unit", r["display"])
    Console().print(table)


def _credentials(account: str) -> tuple[str, str]:
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = typer.prompt(f"password of {account}", hide_input=True)
    return account, password


def _answer(status: int, answer, ok=(200, 202)) -> dict:
    if status not in ok:
        fail(f"the operator page answered {status}: {answer.get('error', answer)}",
             3 if status in (401, 403) else 1)
    return answer


def queue(
    account: str = typer.Option(..., "--as", help="Your account (its password: "
                                f"{PASSWORD_ENV}, or asked)."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """What your account must do, soonest first: the escalations its authority holds now in
    its units, and what it owes; asked of the operator page."""
    from inspections.asking import operator
    from inspections.asking.due import countdown

    settings = load_settings()
    try:
        status, answer = operator.call(settings, *_credentials(account), "/queue.json")
    except operator.Unreachable as exc:
        fail(str(exc))
    found = _answer(status, answer)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("期限 due", "剩余 remaining", "种类 kind", "单位 unit", "对象 subject",
                  "级别 level", "事项 what", title=f"我的待办 the queue of {account}")
    for d in found["due"]:
        table.add_row(d["due"], countdown(d["remaining_s"]), d["kind"], d["unit_id"],
                      d["subject_id"], str(d["level"] or "–"), d["detail"])
    Console().print(table)
    if not found["due"]:
        say("nothing is due for this account")


def act(
    action: str = typer.Argument(..., help="acknowledge, resolve, document or measures."),
    escalation_id: str = typer.Argument(..., help="The escalation to act on."),
    account: str = typer.Option(..., "--as", help="Your account (its password: "
                                f"{PASSWORD_ENV}, or asked)."),
    resolution: str = typer.Option(None, help="resolve: how it was resolved."),
    document_no: str = typer.Option(None, help="document: the enforcement document's number."),
    department: str = typer.Option(None, help="document: the department that issued it."),
    description: str = typer.Option(None, help="measures: the immediate measures taken."),
    action_id: str = typer.Option(None, help="32 hex digits naming this action: the same id "
                                  "sent again publishes nothing more (default: a new one)."),
    wait: float = typer.Option(30.0, help="Seconds to wait for the services to apply it "
                               "(0: do not wait)."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Act on an escalation through the operator page (its checks, its gate): the event is
    published, then the outcome is awaited. Exit 0 done, 4 applied and still open, 5 refused
    by the gate, 6 not applied within --wait; 3 when the account may not act on it."""
    import time

    from inspections.asking import operator
    from inspections.page.actions import new_action_id

    settings = load_settings()
    credentials = _credentials(account)
    body = {"action": action, "action_id": action_id or new_action_id(),
            "resolution": resolution, "document_no": document_no, "department": department,
            "description": description}
    path = f"/api/escalations/{operator.quoted(escalation_id)}/act"
    try:
        sent = _answer(*operator.call(settings, *credentials, path,
                                      {k: v for k, v in body.items() if v is not None}))
        say(f"published {sent['event_id']} (partition {sent['partition']}, "
            f"offset {sent['offset']})")
        found, deadline = {"state": "waiting"}, time.monotonic() + wait
        while wait > 0 and found["state"] == "waiting" and time.monotonic() < deadline:
            time.sleep(0.5)
            found = _answer(*operator.call(settings, *credentials,
                                           "/api" + sent["outcome"]), ok=(200,))
    except operator.Unreachable as exc:
        fail(str(exc))
    result = {**sent, "state": found["state"], **{k: found[k] for k in (
        "step", "reason", "cause", "status") if k in found}}
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        typer.echo({"done": "done: the escalation is closed",
                    "noted": f"applied; it stays {found.get('status')}: "
                             f"{(found.get('step') or {}).get('note', '')}",
                    "refused": f"refused by the gate ({found.get('cause')}): "
                               f"{found.get('reason')}",
                    "waiting": "published; not applied yet (see the page)"}[found["state"]])
    raise typer.Exit({"done": 0, "noted": 4, "refused": 5, "waiting": 6}[found["state"]])

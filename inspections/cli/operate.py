"""Operators' commands: what is due, and the state of a deployment."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer

from inspections.cli.console import fail, load_settings, runnable
from kernel.vocabulary import OBLIGATION_KINDS


def due(
    unit: str = typer.Option(None, help="Only this unit's obligations."),
    authority: str = typer.Option(None, help="Only those this authority must act on."),
    kind: str = typer.Option(None, help="One of " + ", ".join(OBLIGATION_KINDS) + "."),
    within: str = typer.Option(None, "--within", help="Only those due within this of the "
                                                      "service's stream time: 48h, 2d, 90m."),
    as_json: bool = typer.Option(False, "--json", help="The merged answer as JSON."),
) -> None:
    """Every open obligation across the services, soonest first, with the time remaining
    (asked of the running workers' /due views)."""
    from inspections.asking.due import countdown, fetch
    from kernel.due import Wanted

    try:
        Wanted.of(unit, authority, kind, within)
    except ValueError as exc:
        fail(str(exc), code=2)
    try:
        found = fetch(load_settings(), unit=unit, authority=authority, kind=kind,
                      due_within=within)
    except RuntimeError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for service, t in found["as_of"].items():
        typer.echo(f"# {service} as of {t or 'no events yet'}")
    if not found["due"]:
        typer.echo("nothing due")
    for d in found["due"]:
        who = d["authority"] or "-"
        level = f" level {d['level']}" if d["level"] is not None else ""
        typer.echo(f"{d['due']}  {countdown(d['remaining_s']):>16}  {d['kind']:<21} "
                   f"{d['unit_id']:<14} {d['subject_id']}  {who}{level}: {d['detail']}")


def status(as_json: bool = typer.Option(False, "--json", help="As JSON, for machines.")) -> None:
    """Each worker's readiness, consumer lag per group and partition, stream time per
    partition, open obligations by kind, and rejections in the last hour. Exit 0 when every
    worker is ready and every part answered, 1 when not (what failed says why)."""
    from inspections.asking import status as status_module

    found = status_module.gather(load_settings())
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        for line in status_module.lines(found):
            typer.echo(line)
    raise typer.Exit(0 if found["healthy"] else 1)


assessment_app = typer.Typer(help="The annual target assessment's inputs.",
                             no_args_is_help=True)


@assessment_app.command("export")
def assessment_export(
    year: int = typer.Option(..., "--year", help="The assessment's year, e.g. 2026."),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx."),
    out: Path = typer.Option(None, "--out", help="The file to write; default "
                                                 "assessment-YEAR.csv|xlsx here."),
) -> None:
    """One row per unit with every input the system keeps for the year (visit done, days on
    site, coverage, findings by category, rectified share, report on time, breaches by
    kind); no score. Asked of the running services."""
    from inspections.asking import assessment

    if fmt not in assessment.FORMATS:
        fail(f"--format {fmt}: csv or xlsx", code=2)
    if not 1900 <= year <= 2999:
        fail(f"--year {year}: a calendar year such as 2026", code=2)
    target = out or Path(f"assessment-{year}.{fmt}")
    try:
        table = assessment.gather(load_settings(), year)
    except RuntimeError as exc:
        fail(str(exc))
    target.write_bytes(assessment.export(table, year, fmt))
    typer.echo(f"wrote {target}: {len(table)} units, {len(assessment.columns())} columns")


def notify(once: bool = typer.Option(False, "--once", help="Forward what is on the breaches "
                                                           "topic now, then stop.")) -> None:
    """Post each breach to Alertmanager as an alert labelled with its unit, authority and
    escalation (INSPECTIONS_ALERTMANAGER_URL); with a directory (INSPECTIONS_DIRECTORY_FILE),
    also a notice when an escalation becomes an authority's and a reminder before an
    obligation falls due. Runs until Ctrl-C or SIGTERM (it finishes the batch in hand and
    leaves its group), keeping its place in a consumer group of its own."""
    from inspections.alerting import notify as notifying
    from inspections.alerting.directory import DirectoryError
    from inspections.cli.console import kafka_errors, say

    settings = load_settings()
    with kafka_errors(settings):
        try:
            sent = notifying.run(settings, once=once, say=say)
        except DirectoryError as exc:
            fail(f"INSPECTIONS_DIRECTORY_FILE: {exc}", 2)
    typer.echo(f"posted {sent} alerts to {settings.alertmanager_url}")


notices_app = typer.Typer(help="Notices to the people who must act: Alertmanager's routes "
                               "from the directory.", no_args_is_help=True)


@notices_app.command("config")
def notices_config(
    directory: Path = typer.Option(..., "--directory", help="The directory of who is who "
                                   "(YAML; deploy/directory.yaml is an example)."),
    base: Path = typer.Option(Path("deploy/alertmanager/alertmanager.yml"), "--base",
                              help="The Alertmanager configuration to add the routes to."),
    out: Path = typer.Option(None, "--out", help="Write it here (default: print it)."),
    template: str = typer.Option("notices.tmpl", "--template",
                                 help="Where Alertmanager finds deploy/alertmanager/"
                                      "notices.tmpl (a path it reads)."),
    smtp_smarthost: str = typer.Option(None, help="The mail server, host:port."),
    smtp_from: str = typer.Option(None, help="The notices' sender address."),
    smtp_require_tls: bool = typer.Option(True, help="STARTTLS to the mail server."),
) -> None:
    """Alertmanager's configuration with a route and a receiver for each unit's authority
    and each of the city's in the directory (e-mail and chat webhooks): each notice sent to
    its people once. Check it with `amtool check-config`."""
    import yaml

    from inspections.alerting import routes
    from inspections.alerting.directory import DirectoryError, load

    try:
        found = load(directory)
        base_config = yaml.safe_load(base.read_text(encoding="utf-8"))
    except DirectoryError as exc:
        fail(str(exc), 2)
    except (OSError, yaml.YAMLError) as exc:
        fail(f"{base}: not a readable Alertmanager configuration ({exc})", 2)
    smtp = {k: v for k, v in (("smtp_smarthost", smtp_smarthost), ("smtp_from", smtp_from))
            if v}
    if smtp:
        smtp["smtp_require_tls"] = smtp_require_tls
    text = yaml.safe_dump(routes.config(base_config, found, template, smtp),
                          allow_unicode=True, sort_keys=False, width=100)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}: {len(found.people())} recipients' routes")


policy_app = typer.Typer(help="The city's policy: the escalation ladder, routes and limits, "
                              "the team rule.", no_args_is_help=True)


@policy_app.command("show")
def policy_show(
    file: Path = typer.Option(None, "--file", help="Check and show this policy file instead "
                                                   "of INSPECTIONS_POLICY_FILE's."),
) -> None:
    """The workers' starting policy, in the policy file's own form (a file to start from):
    the seed's defaults from the settings, overlaid by INSPECTIONS_POLICY_FILE. A bad file is
    refused naming its line (exit 2). The policy in force is the log's last adopted one
    (`inspections policy adopt`; the operator page's Policy view)."""
    from runtime.config import policy

    settings = load_settings()
    if file is not None:
        settings = settings.model_copy(update={"policy_file": file})
    try:
        typer.echo(policy.to_yaml(policy.load(settings)), nl=False)
    except policy.PolicyError as exc:
        fail(str(exc), code=2)


@policy_app.command("adopt")
def policy_adopt(
    file: Path = typer.Argument(..., help="A policy file (YAML), as `inspections policy show` "
                                          "prints one; what it leaves out is the seed's "
                                          "default from the settings."),
    policy_id: str = typer.Option(None, "--id", help="Its name in the log (default: its "
                                                     "digest)."),
    note: str = typer.Option(None, "--note", help="Why, for the history."),
    at: str = typer.Option(None, "--at", help="When it is adopted (ISO 8601 with an offset; "
                                              "default: now)."),
    actor: str = typer.Option(None, "--as", help="Who adopts it (the event's actor)."),
) -> None:
    """Adopt a policy into the log: the file is checked as a worker checks one (a bad file is
    refused naming its line, exit 2), then a policy.adopted goes to every partition of
    inspections.events. Each service runs it from its place in each partition on: what is
    raised or judged after it takes its limits, ladder and team rule; escalations raised
    before keep their due times. Replay and verify apply it at the same place."""
    from inspections.cli.console import aware_time, kafka_errors
    from inspections.upstream import publish as upstream
    from runtime.config import policy

    settings = load_settings().model_copy(update={"policy_file": file})
    try:
        adopted = policy.load(settings)
    except policy.PolicyError as exc:
        fail(str(exc), code=2)
    data, content = policy.adoption(adopted, file.name, policy_id, note)
    when = aware_time(at) if at else datetime.now(timezone.utc).astimezone()
    try:
        with kafka_errors(settings):
            sent = upstream.policy(settings, data, content, when, actor)
    except ValueError as exc:
        fail(str(exc), code=2)
    typer.echo(f"policy {data['policy_id']} ({content}) adopted at {when.isoformat()}: sent to "
               f"{sent} partitions; each service runs it from there on")


def rebuild(
    service: str = typer.Argument(..., autocompletion=runnable,
                                  help="scheduler, findings, escalation, or all (the "
                                            "workers that run every service in one process)"),
    port: int = typer.Option(..., "--port", help="The web port of the new generation's "
                                                 "worker, run here until it hands over."),
    remove_old: bool = typer.Option(False, "--remove-old", help="Once the old generation's "
                                    "workers have stopped, delete its consumer group, "
                                    "changelogs and internal topics."),
) -> None:
    """Rebuild a service's state without stopping it: the next generation (a consumer group
    and changelogs of its own) catches up from offset 0 beside the live one, which keeps
    serving, then goes live; the old workers stop and, started again, join it."""
    import services
    from inspections.audit import rebuild as rebuilding
    from inspections.cli.console import kafka_errors, say

    if service not in services.RUNNABLE:
        fail(f"unknown service {service!r}: one of {', '.join(services.RUNNABLE)}", code=2)
    settings = load_settings()
    with kafka_errors(settings):
        generation = rebuilding.rebuild(settings, service, port, remove_old, say)
    typer.echo(f"{service}: generation {generation} is live")

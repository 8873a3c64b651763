"""``inspections rejected``: the records the gate refused, to read and to answer."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inspections.cli.console import (
    aware_time,
    existing_file,
    fail,
    kafka_errors,
    load_settings,
    progress_bar,
    say,
)
from schemas.gate import CAUSES

rejected_app = typer.Typer(help="Records the gate refused: list, show, republish a fix.",
                           no_args_is_help=True)


def _all(settings):
    from inspections.upstream import rejected
    from runtime.config import topics
    from runtime.plumbing.kafka import log_size

    with kafka_errors(settings):
        progress, task = progress_bar(log_size(settings, topics.name(settings,
                                                                     topics.REJECTED)),
                                      "reading rejections")
        with progress:
            return rejected.read(settings, lambda n: progress.advance(task, n))


@rejected_app.command("list")
def list_(
    since: str = typer.Option(None, help="Only records appended at or after this time "
                                         "(ISO 8601 with an offset)."),
    cause: str = typer.Option(None, help=f"Only this cause: {', '.join(CAUSES)}."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line."),
) -> None:
    """Every rejected record, oldest first: its id, when and where it was appended, the
    cause and the gate's reason."""
    from inspections.upstream import rejected

    if cause is not None and cause not in CAUSES:
        fail(f"unknown cause {cause!r}: one of {', '.join(CAUSES)}", code=2)
    when = aware_time(since) if since else None
    settings = load_settings()
    found = rejected.select(_all(settings), when, cause)
    for r in found:
        if as_json:
            typer.echo(json.dumps(r.summary(), ensure_ascii=False))
        else:
            typer.echo(f"{r.id}  {r.time.isoformat()}  {r.place:<24} {r.cause:<12} {r.reason}")
    say(f"{len(found)} rejected records")


@rejected_app.command("show")
def show(
    rejection: str = typer.Argument(..., help="The rejection's id, or the original record's "
                                              "place (topic/partition/offset)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One rejected record: the gate's reason, its key, and its original bytes."""
    from inspections.upstream import rejected

    found = rejected.find(_all(load_settings()), rejection)
    if found is None:
        fail(f"no rejected record {rejection!r} on the rejected topic "
             "(`inspections rejected list` shows them)")
    d = found.detail()
    if as_json:
        typer.echo(json.dumps(d, ensure_ascii=False, indent=2))
        return
    for name in ("id", "time", "place", "service", "cause", "reason", "key", "value_bytes"):
        typer.echo(f"{name}: {d[name]}")
    typer.echo("value:")
    typer.echo(d["value_text"] if d["value_text"] is not None
               else f"(not UTF-8; base64) {d['value_base64']}")


@rejected_app.command("republish")
def republish(
    rejection: str = typer.Argument(..., help="The rejection's id or place."),
    fixed: Path = typer.Option(..., "--fixed", help="A file holding the corrected event "
                                                    "(one JSON object)."),
    account: str = typer.Option(None, "--as", help="Who republishes it, for the record (the "
                                "log and a Kafka header; default: this machine's user)."),
) -> None:
    """Check the corrected event with the gate and publish it keyed by its subject, noting
    the rejection it answers and who republished it (Kafka headers; the log says so too).
    Again with the same file: nothing is sent."""
    import getpass

    from inspections.upstream import rejected
    from runtime.plumbing import logs

    existing_file(fixed)
    settings = load_settings()
    by = (account or getpass.getuser())[:128]
    logs.configure("republish", settings.log_level, settings.log_format)  # to stderr
    found = rejected.find(_all(settings), rejection)
    if found is None:
        fail(f"no rejected record {rejection!r} on the rejected topic "
             "(`inspections rejected list` shows them)")
    try:
        with kafka_errors(settings):
            done = rejected.republish(settings, found, fixed.read_bytes(), by)
    except rejected.Refused as exc:
        logs.get("inspections.rejected").warning("fix refused", account=by,
                                                 rejection_id=found.id, why=str(exc)[:300])
        fail(f"{exc}; nothing was sent")
    logs.get("inspections.rejected").info(
        "fix republished" if not done.already else "fix republished before", account=by,
        rejection_id=found.id, event_id=done.event_id, partition=done.partition,
        offset=done.offset)
    where = f"events partition {done.partition} offset {done.offset}"
    if done.already:
        typer.echo(f"already republished: event {done.event_id} at {where}; nothing sent")
    else:
        typer.echo(f"republished event {done.event_id} at {where}, answering {found.id}")

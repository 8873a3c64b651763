"""The auditor's commands: replay the inbound log, verify the derived topics against it,
walk back from a fact to the events behind it."""

from __future__ import annotations

from pathlib import Path

import typer

from inspections.cli.console import aware_time, fail, kafka_errors, load_settings, progress_bar

audit_app = typer.Typer(help="Check derived facts against the inbound log.",
                        no_args_is_help=True)


def replay(
    out: Path = typer.Option(Path("replay"), "--out", help="Folder to write: new, empty, or "
                             "one a replay wrote (replaced); any other is refused."),
    until: str = typer.Option(None, "--until", help="Event-time cut (ISO 8601 with offset): "
                              "each partition up to its first event after TIME."),
    until_appended: str = typer.Option(None, "--until-appended", help="Append-time cut: "
                                       "records Kafka appended at or before TIME."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl: a file of views a kind; "
                            "dir: a file a view."),
    workers: int = typer.Option(None, "--workers", help="Processes sharing the partitions; "
                                "default INSPECTIONS_REPLAY_WORKERS (0: one a core)."),
    as_json: bool = typer.Option(False, "--json", help="The summary as JSON."),
) -> None:
    """Rebuild every derived event and view from the inbound log alone (read-only)."""
    from inspections.audit import replay as replaying
    from runtime.replay_runner import parts as parallel

    if fmt not in ("jsonl", "dir"):
        fail(f"--format {fmt}: jsonl or dir", code=2)
    settings = load_settings()
    cut = parallel.Cut(aware_time(until) if until else None,
                       aware_time(until_appended) if until_appended else None)
    with kafka_errors(settings):
        total = sum(parallel.end_offsets(settings).values())
        progress, task = progress_bar(total, "replaying")
        with progress:
            found = replaying.replay(
                settings, out, workers=settings.replay_workers if workers is None else workers,
                cut=cut, fmt=fmt, progress=lambda n: progress.advance(task, n))
    if as_json:
        import json

        typer.echo(json.dumps({"log_records": total, "out": str(out), **found}))
        return
    derived = sum(found["derived"].values())
    views = ", ".join(f"{n} {kind}" for kind, n in found["views"].items())
    typer.echo(f"replayed {total} records: {derived} derived events; views: {views}; in {out}")


@audit_app.command("verify")
def audit_verify(
    json_out: Path = typer.Option(None, "--json", help="Also write the report as JSON here."),
    workers: int = typer.Option(None, "--workers", help="Processes sharing the partitions; "
                                "default INSPECTIONS_REPLAY_WORKERS (0: one a core)."),
) -> None:
    """Recompute every derived event from the inbound log and compare with the derived topics
    as they stream: missing, extra and different events. Exit 1 on any difference."""
    import json

    from inspections.audit.checks import report_json, report_text
    from inspections.audit.verify import verify
    from inspections.cli.console import phases

    settings = load_settings()
    with kafka_errors(settings), phases() as bars:
        checks = verify(settings, settings.replay_workers if workers is None else workers,
                        bars.phase)
    typer.echo(report_text(checks))
    if json_out is not None:
        json_out.write_text(json.dumps(report_json(checks), indent=2, ensure_ascii=False))
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


@audit_app.command("trail")
def audit_trail(
    ident: str = typer.Argument(..., help="a breach, escalation, finding or visit id"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """The chain of events behind an id, as a tree: an escalation's ladder level by level,
    each derived event over the inbound event that caused it, then the rest of its case."""
    import json

    from inspections.audit.trail import trail, trail_json

    settings = load_settings()
    with kafka_errors(settings):
        entries = trail(settings, ident)
    if not entries:
        fail(f"nothing names {ident!r} in the inbound or derived topics")
    if as_json:
        typer.echo(json.dumps(trail_json(entries), indent=2, ensure_ascii=False))
    else:
        from rich.console import Console

        from inspections.audit.trail_tree import tree

        Console(width=200, highlight=False, soft_wrap=True).print(tree(ident, entries))



"""The integrator's commands: validate a file, publish it, move stream time, simulate a
scenario through the public contract."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer

from inspections.cli.console import (
    aware_time,
    existing_file,
    fail,
    kafka_errors,
    load_settings,
    progress_bar,
)


def check_file(path: Path, problems: list | None = None) -> tuple[int, int]:
    """Validate every line; print one line per bad one (or, given ``problems``, add each to
    it instead). Returns (good, bad)."""
    from inspections.upstream.publish import count_lines, read_lines

    good = bad = 0
    progress, task = progress_bar(count_lines(path), "validating")
    with progress:
        for line in read_lines(path):
            progress.advance(task)
            if line.ok:
                good += 1
            else:
                bad += 1
                if problems is None:
                    typer.echo(f"{path}:{line.number}: {line.result.reason}")
                else:
                    problems.append({"line": line.number, "cause": line.result.cause,
                                     "reason": line.result.reason})
    return good, bad


def validate(
    file: Path = typer.Argument(..., help="JSONL file, one event a line"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object: counts and every "
                                                      "bad line's number, cause and reason."),
) -> None:
    """Check a JSONL file of events against the contract; never touches Kafka.

    One line of output per bad line (line number and reason), then a summary; exit 1 if any
    line is bad.
    """
    import json

    problems: list | None = [] if as_json else None
    good, bad = check_file(existing_file(file), problems)
    if as_json:
        typer.echo(json.dumps({"file": str(file), "events": good + bad, "valid": good,
                               "invalid": bad, "problems": problems}, ensure_ascii=False))
    else:
        typer.echo(f"{good + bad} events: {good} valid, {bad} invalid")
    raise typer.Exit(1 if bad else 0)


def publish(
    file: Path = typer.Argument(..., help="JSONL file, one event a line"),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Send the valid lines even if some are bad."
    ),
) -> None:
    """Validate a JSONL file, then send each event to inspections.events keyed by its subject.

    Nothing is sent when any line is bad, unless --skip-invalid.
    """
    from inspections.upstream import publish as upstream
    from runtime.config import topics

    settings = load_settings()
    good, bad = check_file(existing_file(file))
    if bad and not skip_invalid:
        fail(f"{bad} of {good + bad} events are invalid; nothing sent (--skip-invalid sends "
             "the valid ones)")
    progress, task = progress_bar(good + bad, "publishing")
    with kafka_errors(settings), progress:
        sent = upstream.publish(settings, upstream.read_lines(file),
                                advance=lambda n: progress.advance(task, n))
    skipped = f", {bad} invalid skipped" if bad else ""
    typer.echo(f"sent {good} events ({sent} records) to "
               f"{topics.name(settings, topics.EVENTS)}{skipped}")


def tick(
    at: str = typer.Option(None, "--at", help="ISO 8601 time with an offset; default: now"),
) -> None:
    """Send one clock.ticked to every partition of inspections.events (moves stream time)."""
    from inspections.upstream import publish as upstream

    settings = load_settings()
    when = aware_time(at) if at else datetime.now(timezone.utc).astimezone()
    with kafka_errors(settings):
        sent = upstream.tick(settings, when)
    typer.echo(f"clock.ticked at {when.isoformat()} sent to {sent} partitions")


def simulate(
    scenario: str = typer.Argument(..., help="a scenario file, or a shipped one by name: "
                                   "zhangzhou-2026"),
    speed: float = typer.Option(None, "--speed", help="Simulated days per second (0: no "
                                "waiting); default INSPECTIONS_SIMULATE_DAYS_PER_SECOND."),
) -> None:
    """Publish a scenario's events through the public contract, with a clock tick every
    simulated midnight, so that months pass in seconds."""
    from inspections.simulation import simulate as sim

    settings = load_settings()
    try:
        plan = sim.load(sim.find(scenario))
    except sim.ScenarioError as exc:
        fail(str(exc), code=2)
    simulate_plan(settings, plan, speed)


def simulate_plan(settings, plan, speed: float | None) -> None:
    from inspections.simulation import simulate as sim
    from inspections.upstream import publish as upstream
    from runtime.config import topics

    items = sim.timeline(plan)
    pace = settings.simulate_days_per_second if speed is None else speed
    events = sum(1 for _, e in items if e is not None)
    span = (items[-1][0] - items[0][0]).total_seconds() / 86400
    typer.echo(f"{plan.name}: {events} events over {span:.0f} days, "
               f"{'as fast as possible' if pace == 0 else f'{pace:g} days a second'}")
    progress, task = progress_bar(len(items), "simulating")
    with kafka_errors(settings), progress:
        month = [None]

        def advance(when) -> None:
            progress.update(task, advance=1, description=f"simulating {when.date()}")
            if when.strftime("%Y-%m") != month[0]:  # a line a month, terminal or not
                month[0] = when.strftime("%Y-%m")
                progress.console.print(f"  {month[0]}", highlight=False)

        try:
            sent = upstream.publish_timeline(settings, sim.paced(items, pace), advance)
        except ValueError as exc:
            fail(str(exc))
    typer.echo(f"sent {events} events and {len(items) - events} ticks ({sent} records) to "
               f"{topics.name(settings, topics.EVENTS)}, up to {items[-1][0].isoformat()}")



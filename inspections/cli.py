"""The ``inspections`` command: the one entry point for operators, integrators and auditors."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import typer

from inspections import settings as settings_module
from inspections.localkafka import BrokerError, LocalBroker

app = typer.Typer(
    help="Work-safety inspection campaign: stream processors on Apache Kafka.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
broker_app = typer.Typer(help="The local single-node Kafka broker.", no_args_is_help=True)
topics_app = typer.Typer(help="The project's Kafka topics.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")
contract_app = typer.Typer(help="The machine-readable event contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(contract_app, name="contract")
audit_app = typer.Typer(help="Check derived facts against the inbound log.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _broker() -> LocalBroker:
    return LocalBroker(settings_module.load(), say=_say)


@contextlib.contextmanager
def _kafka(settings):
    """Turn a Kafka failure into an error that says what to do."""
    from kafka.errors import KafkaError

    try:
        yield
    except KafkaError as exc:
        fail(
            f"cannot reach Kafka at {settings.bootstrap} ({exc.__class__.__name__}). Start the "
            "local broker with `inspections broker start`, or set INSPECTIONS_BOOTSTRAP_SERVERS."
        )
    except RuntimeError as exc:  # what the project's Kafka code raises: it says what to do
        fail(str(exc))


@broker_app.command("start")
def broker_start() -> None:
    """Start the local broker (resolving its jars on first use); return once it answers."""
    try:
        status = _broker().start()
    except BrokerError as exc:
        fail(str(exc))
    typer.echo(status.describe())


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker cleanly. Its data stays."""
    try:
        stopped = _broker().stop()
    except BrokerError as exc:
        fail(str(exc))
    typer.echo("stopped" if stopped else "not running")


@broker_app.command("status")
def broker_status() -> None:
    """Say whether the local broker runs; exit 0 when it runs and answers, 3 when not."""
    status = _broker().status()
    typer.echo(status.describe())
    raise typer.Exit(0 if status.ready else 3)


@broker_app.command("jars")
def broker_jars() -> None:
    """Resolve the pinned Kafka release's jars with Maven (cached) and print the classpath."""
    broker = _broker()
    try:
        classpath = broker.classpath()
    except BrokerError as exc:
        fail(str(exc))
    typer.echo(f"Apache Kafka {broker.version}: {len(classpath.split(':'))} jars")


@topics_app.command("create")
def topics_create() -> None:
    """Create the project's topics (idempotent); report each."""
    from inspections import kafka, topics

    settings = settings_module.load()
    with _kafka(settings):
        admin = kafka.admin(settings)
        try:
            reports = topics.ensure_topics(admin, settings)
        finally:
            admin.close()
    for r in reports:
        line = f"{r.name:<32} {r.action:<8} {r.partitions} partitions"
        typer.echo(line + (f"  ({r.note})" if r.note else ""))


def _progress(total: int, label: str):
    from rich.console import Console
    from rich.progress import (
        BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn,
    )

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console, transient=True, disable=not console.is_terminal or total < 1000,
    )
    return progress, progress.add_task(label, total=total)


def _check_file(path: Path) -> tuple[int, int]:
    """Validate every line; print one line per bad one. Returns (good, bad)."""
    from inspections.upstream import count_lines, read_lines

    good = bad = 0
    progress, task = _progress(count_lines(path), "validating")
    with progress:
        for line in read_lines(path):
            progress.advance(task)
            if line.ok:
                good += 1
            else:
                bad += 1
                typer.echo(f"{path}:{line.number}: {line.result.reason}")
    return good, bad


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        fail(f"{path}: no such file", code=2)
    return path


@app.command("validate")
def validate(file: Path = typer.Argument(..., help="JSONL file, one event a line")) -> None:
    """Check a JSONL file of events against the contract; never touches Kafka.

    One line of output per bad line (line number and reason), then a summary; exit 1 if any
    line is bad.
    """
    good, bad = _check_file(_existing_file(file))
    typer.echo(f"{good + bad} events: {good} valid, {bad} invalid")
    raise typer.Exit(1 if bad else 0)


@app.command("publish")
def publish(
    file: Path = typer.Argument(..., help="JSONL file, one event a line"),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Send the valid lines even if some are bad."
    ),
) -> None:
    """Validate a JSONL file, then send each event to inspections.events keyed by its subject.

    Nothing is sent when any line is bad, unless --skip-invalid.
    """
    from inspections import topics, upstream

    settings = settings_module.load()
    good, bad = _check_file(_existing_file(file))
    if bad and not skip_invalid:
        fail(f"{bad} of {good + bad} events are invalid; nothing sent (--skip-invalid sends "
             "the valid ones)")
    progress, task = _progress(good + bad, "publishing")
    with _kafka(settings), progress:
        sent = upstream.publish(settings, upstream.read_lines(file),
                                advance=lambda n: progress.advance(task, n))
    skipped = f", {bad} invalid skipped" if bad else ""
    typer.echo(f"sent {good} events ({sent} records) to "
               f"{topics.name(settings, topics.EVENTS)}{skipped}")


def _aware_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no offset; write it like 2026-05-01T00:00:00+08:00")
    return when


@app.command("tick")
def tick(
    at: str = typer.Option(None, "--at", help="ISO 8601 time with an offset; default: now"),
) -> None:
    """Send one clock.ticked to every partition of inspections.events (moves stream time)."""
    from inspections import upstream

    settings = settings_module.load()
    when = _aware_time(at) if at else datetime.now(timezone.utc).astimezone()
    with _kafka(settings):
        sent = upstream.tick(settings, when)
    typer.echo(f"clock.ticked at {when.isoformat()} sent to {sent} partitions")


@contract_app.command("write")
def contract_write() -> None:
    """Regenerate schemas/json/*.json and schemas/asyncapi.yaml from the models."""
    from schemas import contract

    changed = contract.write()
    for path in changed:
        typer.echo(f"wrote {path}")
    typer.echo(f"{len(changed)} files changed")


@app.command("replay")
def replay(
    out: Path = typer.Option(Path("replay"), "--out", help="Folder to write (replaced)."),
    until: str = typer.Option(None, "--until", help="Event-time cut (ISO 8601 with offset): "
                              "each partition up to its first event after TIME."),
    until_appended: str = typer.Option(None, "--until-appended", help="Append-time cut: "
                                       "records Kafka appended at or before TIME."),
) -> None:
    """Rebuild every derived event and view from the inbound log alone (read-only)."""
    from inspections import replay as replaying
    from inspections import topics

    settings = settings_module.load()
    events_topic = topics.name(settings, topics.EVENTS)
    limits = {"until": _aware_time(until) if until else None,
              "until_appended": _aware_time(until_appended) if until_appended else None}
    count = [0]

    def counted(records):
        for record in records:
            count[0] += 1
            yield record

    with _kafka(settings):
        progress, task = _progress(replaying.log_size(settings, events_topic), "replaying")
        with progress:
            records = replaying.stream_log(settings, events_topic,
                                           lambda n: progress.advance(task, n))
            pipeline = replaying.Pipeline(settings).run(
                counted(replaying.cut_records(records, **limits)))
    written = replaying.write(pipeline, out)
    derived = sum(len(v) for v in pipeline.derived_by_topic().values())
    typer.echo(f"replayed {count[0]} records: {derived} derived events, "
               f"{len(written)} files in {out}")


@audit_app.command("verify")
def audit_verify(
    json_out: Path = typer.Option(None, "--json", help="Also write the report as JSON here."),
) -> None:
    """Recompute every derived event from the inbound log and compare with the derived topics:
    missing, extra and different events. Exit 1 on any difference."""
    import json

    from inspections import audit

    settings = settings_module.load()
    with _kafka(settings):
        checks = audit.verify(settings)
    typer.echo(audit.report_text(checks))
    if json_out is not None:
        json_out.write_text(json.dumps(audit.report_json(checks), indent=2, ensure_ascii=False))
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


@audit_app.command("trail")
def audit_trail(
    ident: str = typer.Argument(..., help="a breach, escalation, finding or visit id"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """The chain of events behind an id: causes back to the inbound events, and its case."""
    import json

    from inspections import audit

    settings = settings_module.load()
    with _kafka(settings):
        entries = audit.trail(settings, ident)
    if not entries:
        fail(f"nothing names {ident!r} in the inbound or derived topics")
    if as_json:
        typer.echo(json.dumps(audit.trail_json(entries), indent=2, ensure_ascii=False))
    else:
        for e in entries:
            typer.echo(e.line())


@app.command("simulate")
def simulate(
    scenario: str = typer.Argument(..., help="a scenario file, or a shipped one by name: "
                                   "zhangzhou-2026"),
    speed: float = typer.Option(None, "--speed", help="Simulated days per second (0: no "
                                "waiting); default INSPECTIONS_SIMULATE_DAYS_PER_SECOND."),
) -> None:
    """Publish a scenario's events through the public contract, with a clock tick every
    simulated midnight, so that months pass in seconds."""
    from inspections import simulate as sim

    settings = settings_module.load()
    try:
        plan = sim.load(sim.find(scenario))
    except sim.ScenarioError as exc:
        fail(str(exc), code=2)
    _simulate(settings, plan, speed)


def _simulate(settings, plan, speed: float | None) -> None:
    from inspections import simulate as sim
    from inspections import topics, upstream

    items = sim.timeline(plan)
    pace = settings.simulate_days_per_second if speed is None else speed
    events = sum(1 for _, e in items if e is not None)
    span = (items[-1][0] - items[0][0]).total_seconds() / 86400
    typer.echo(f"{plan.name}: {events} events over {span:.0f} days, "
               f"{'as fast as possible' if pace == 0 else f'{pace:g} days a second'}")
    progress, task = _progress(len(items), "simulating")
    with _kafka(settings), progress:
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


@app.command("ready")
def ready(
    service: str = typer.Argument(..., help="scheduler, findings or escalation"),
    wait: float = typer.Option(0, help="Seconds to wait for it to become ready."),
) -> None:
    """Ask a worker's /readyz: exit 0 when it is ready, 1 (and why) when not."""
    import json
    import time
    import urllib.error
    import urllib.request

    from inspections.operator import host
    from inspections.streams import SERVICE_NAMES, web_port

    if service not in SERVICE_NAMES:
        fail(f"unknown service {service!r}: one of {', '.join(SERVICE_NAMES)}", code=2)
    settings = settings_module.load()
    url = f"http://{host(settings)}:{web_port(settings, service)}/readyz"
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                body = json.loads(answer.read())
            typer.echo(f"{service} ready: {len(body['partitions'])} partitions")
            return
        except urllib.error.HTTPError as exc:
            why = json.loads(exc.read() or b"{}").get("reason", f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            why = f"no answer at {url} ({getattr(exc, 'reason', exc)}): is the worker running?"
        if time.monotonic() >= deadline:
            fail(f"{service} not ready: {why}")
        time.sleep(0.5)


@app.command("run")
def run(service: str = typer.Argument(..., help="scheduler")) -> None:
    """Run one service's worker in the foreground until Ctrl-C or SIGTERM."""
    import services
    from inspections.streams import run_worker

    settings = settings_module.load()
    try:
        faust_app = services.create_app(service, settings)
    except ValueError as exc:
        fail(str(exc), code=2)
    run_worker(faust_app, settings, service)


@app.command("operator")
def operator() -> None:
    """Serve the read-only operator page (campaign board, escalations, breaches, problem
    lists) on the port after the services', until Ctrl-C."""
    from inspections import operator as page

    page.serve(settings_module.load())


@app.command("demo")
def demo(
    exit_after: bool = typer.Option(False, "--exit", help="Stop everything once shown."),
    speed: float = typer.Option(None, "--speed", help="Simulated days per second."),
) -> None:
    """The broker, the topics, the three services, the operator page, and the seed's
    campaign simulated through them; then a summary. Runs until Ctrl-C (or --exit)."""
    from inspections import demo as demo_module

    try:
        code = demo_module.run(settings_module.load(), keep_running=not exit_after,
                               speed=speed, say=_say)
    except BrokerError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command("demo-campaign", hidden=True)
def demo_campaign(
    exit_after: bool = typer.Option(False, "--exit"),
    speed: float = typer.Option(None, "--speed"),
) -> None:
    """The demo's campaign process (run by `inspections demo` under its supervisor)."""
    from inspections import demo as demo_module

    settings = settings_module.load()
    code = demo_module.campaign(settings, keep_running=not exit_after,
                                publish=lambda plan: _simulate(settings, plan, speed),
                                say=typer.echo)
    raise typer.Exit(code)


def main() -> None:
    app(prog_name="inspections")


if __name__ == "__main__":
    sys.exit(main())

"""The ``inspections`` command: the one entry point for operators, integrators and auditors."""

from __future__ import annotations

import sys
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
app.add_typer(topics_app, name="topics")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _broker() -> LocalBroker:
    return LocalBroker(settings_module.load(), say=_say)


def _unreachable(settings, exc: Exception) -> NoReturn:
    fail(
        f"cannot reach Kafka at {settings.bootstrap} ({exc.__class__.__name__}). Start the local "
        "broker with `inspections broker start`, or set INSPECTIONS_BOOTSTRAP_SERVERS."
    )


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
    from kafka.errors import KafkaError

    from inspections import kafka, topics

    settings = settings_module.load()
    try:
        admin = kafka.admin(settings)
    except KafkaError as exc:
        _unreachable(settings, exc)
    try:
        reports = topics.ensure_topics(admin, settings)
    finally:
        admin.close()
    for r in reports:
        line = f"{r.name:<26} {r.action:<8} {r.partitions} partitions"
        typer.echo(line + (f"  ({r.note})" if r.note else ""))


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


@app.command("demo")
def demo(
    exit_after: bool = typer.Option(False, "--exit", help="Stop everything once shown."),
) -> None:
    """Broker, topics, the scheduler worker, and sample events flowing through the gate."""
    from inspections import demo as demo_module

    try:
        code = demo_module.run(settings_module.load(), keep_running=not exit_after, say=_say)
    except BrokerError as exc:
        fail(str(exc))
    raise typer.Exit(code)


def main() -> None:
    app(prog_name="inspections")


if __name__ == "__main__":
    sys.exit(main())

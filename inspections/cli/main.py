"""The ``inspections`` command: the one entry point for operators, integrators and auditors."""

from __future__ import annotations

import sys

import typer

from inspections.cli import aftercare as cli_aftercare
from inspections.cli import audit as cli_audit
from inspections.cli import operate as cli_operate
from inspections.cli import people as cli_people
from inspections.cli import rejected as cli_rejected
from inspections.cli import upstream as cli_upstream
from inspections.cli.console import fail, kafka_errors, load_settings, runnable, say
from inspections.localkafka import BrokerError, LocalBroker

app = typer.Typer(
    help="Work-safety inspection campaign: stream processors on Apache Kafka.",
    no_args_is_help=True,
    add_completion=True,  # `inspections --install-completion` (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)


def _version(asked: bool) -> None:
    if asked:
        from runtime.plumbing import build

        typer.echo(" ".join(f"{k} {v}" for k, v in
                            (("inspections", build.version()), *list(build.info().items())[1:])))
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True,
        help="Print the version (and Python's, faust-streaming's, kafka-python's) and exit.")
             ) -> None:
    """Work-safety inspection campaign: stream processors on Apache Kafka."""
broker_app = typer.Typer(help="The local single-node Kafka broker.", no_args_is_help=True)
topics_app = typer.Typer(help="The project's Kafka topics.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")
contract_app = typer.Typer(help="The machine-readable event contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(contract_app, name="contract")
app.add_typer(cli_audit.audit_app, name="audit")
app.add_typer(cli_rejected.rejected_app, name="rejected")
app.add_typer(cli_operate.assessment_app, name="assessment")
app.add_typer(cli_operate.policy_app, name="policy")
app.add_typer(cli_people.accounts_app, name="accounts")
app.add_typer(cli_operate.notices_app, name="notices")
app.add_typer(cli_aftercare.report_app, name="report")
for name, command in (("validate", cli_upstream.validate), ("publish", cli_upstream.publish),
                      ("tick", cli_upstream.tick), ("replay", cli_audit.replay),
                      ("simulate", cli_upstream.simulate), ("due", cli_operate.due),
                      ("status", cli_operate.status), ("notify", cli_operate.notify),
                      ("rebuild", cli_operate.rebuild), ("queue", cli_people.queue),
                      ("act", cli_people.act), ("ledger", cli_aftercare.ledger)):
    app.command(name)(command)


def _broker(nodes: int | None = None) -> LocalBroker:
    settings = load_settings()
    if nodes is not None:
        settings = settings.model_copy(update={"broker_nodes": nodes})
    return LocalBroker(settings, say=say)


@broker_app.command("start")
def broker_start(nodes: int = typer.Option(
        None, "--nodes", min=1, max=5,
        help="Nodes of the local Kafka (default INSPECTIONS_BROKER_NODES, 1): 3 is a "
             "cluster whose topics have 3 replicas, 2 of them in sync for each write.")) -> None:
    """Start the local broker, or every node of a local cluster that does not run (resolving
    the jars on first use); return once it answers with every node."""
    try:
        broker = _broker(nodes)
        status = broker.start()
    except BrokerError as exc:
        fail(str(exc))
    typer.echo(status.describe())
    if len(broker.nodes) > 1 and load_settings().broker_nodes != len(broker.nodes):
        say(f"Set INSPECTIONS_BROKER_NODES={len(broker.nodes)} for every command and worker: "
            "they then know each node (and the topics get their replicas).")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker cleanly. Its data stays."""
    try:
        stopped = _broker().stop()
    except BrokerError as exc:
        fail(str(exc))
    typer.echo("stopped" if stopped else "not running")


@broker_app.command("status")
def broker_status(as_json: bool = typer.Option(False, "--json", help="As JSON.")) -> None:
    """Say whether the local broker runs; exit 0 when it runs and answers, 3 when not."""
    import dataclasses
    import json

    status = _broker().status()
    if as_json:
        typer.echo(json.dumps({k: str(v) if k == "data_dir" else v
                               for k, v in dataclasses.asdict(status).items()}))
    else:
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
def topics_create(as_json: bool = typer.Option(False, "--json", help="As JSON.")) -> None:
    """Create the project's topics (idempotent); report each."""
    import dataclasses
    import json

    from runtime.config import topics
    from runtime.plumbing import kafka

    settings = load_settings()
    with kafka_errors(settings):
        admin = kafka.admin(settings)
        try:
            reports = topics.ensure_topics(admin, settings)
        finally:
            admin.close()
    if as_json:
        typer.echo(json.dumps({"topics": [dataclasses.asdict(r) for r in reports]}))
        return
    for r in reports:
        line = f"{r.name:<32} {r.action:<8} {r.partitions} partitions"
        typer.echo(line + (f"  ({r.note})" if r.note else ""))


@contract_app.command("write")
def contract_write() -> None:
    """Regenerate schemas/json/*.json, schemas/asyncapi.yaml and schemas/openapi.yaml (the
    HTTP ingestion's) from the models."""
    from inspections.ingest import openapi
    from inspections.upstream import contract

    changed = contract.write() + openapi.write()
    for path in changed:
        typer.echo(f"wrote {path}")
    typer.echo(f"{len(changed)} files changed")


@app.command("ready")
def ready(
    service: str = typer.Argument(..., help="scheduler, findings, escalation or all",
                                  autocompletion=runnable),
    wait: float = typer.Option(0, help="Seconds to wait for it to become ready."),
) -> None:
    """Ask a worker's /readyz: exit 0 when it is ready, 1 (and why) when not."""
    import json
    import time
    import urllib.error
    import urllib.request

    from inspections.page.server import host
    from runtime.faust_runner.app import web_port
    from services import RUNNABLE

    if service not in RUNNABLE:
        fail(f"unknown service {service!r}: one of {', '.join(RUNNABLE)}", code=2)
    settings = load_settings()
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
def run(service: str = typer.Argument(..., autocompletion=runnable,
                                      help="scheduler, findings, escalation, or all (every "
                                                "service in this one process)"),
        generation: int = typer.Option(
            None, "--generation", min=0,
            help="Run this generation of the service's state instead of the live one "
                 "(`inspections rebuild` runs the next one so).")) -> None:
    """Run one service's worker (or, with `all`, one worker of every service) in the
    foreground until Ctrl-C or SIGTERM, in the live generation of its state (it stops when a
    later one goes live: start it again)."""
    import services
    from runtime.faust_runner import generations
    from runtime.faust_runner.app import run_worker
    from runtime.plumbing import webauth

    settings = load_settings()
    if service not in services.RUNNABLE:
        fail(f"unknown service {service!r}: one of {', '.join(services.RUNNABLE)}", code=2)
    refused = webauth.open_refusal(settings, settings.web_host, f"the {service} worker")
    if refused:  # before it connects to anything
        fail(refused)
    with kafka_errors(settings):
        live, quiet = generations.starting(settings, service, generation)
    settings = generations.of(settings, live if generation is None else generation)
    try:
        faust_app = services.create_app(service, settings, quiet)
    except ValueError as exc:
        fail(str(exc), code=2)
    run_worker(faust_app, settings, service)


@app.command("operator")
def operator() -> None:
    """Serve the operator page (campaign board, escalations, breaches, problem lists; with
    accounts, each account's queue and actions) on the port after the services', until
    Ctrl-C."""
    from inspections.accounts.roles import AccountError
    from inspections.page import server as page

    try:
        page.serve(load_settings())
    except AccountError as exc:
        fail(f"INSPECTIONS_ACCOUNTS_FILE: {exc}", 2)


@app.command("ingest")
def ingest() -> None:
    """Serve POST /events for upstream systems that cannot speak Kafka (the CloudEvents HTTP
    binding; each publisher signs in with its account) on the port after the page's
    (http://127.0.0.1:6071/events; INSPECTIONS_INGEST_PORT)."""
    from inspections.accounts.roles import AccountError
    from inspections.ingest import server

    try:
        server.serve(load_settings())
    except AccountError as exc:
        fail(f"INSPECTIONS_ACCOUNTS_FILE: {exc}", 2)


@app.command("demo")
def demo(
    exit_after: bool = typer.Option(False, "--exit", help="Stop everything once shown."),
    speed: float = typer.Option(None, "--speed", help="Simulated days per second."),
) -> None:
    """The broker, the topics, the three services, the operator page, and the seed's
    campaign simulated through them; then a summary. Runs until Ctrl-C (or --exit)."""
    from inspections.simulation import demo as demo_module

    try:
        code = demo_module.run(load_settings(), keep_running=not exit_after,
                               speed=speed, say=say)
    except BrokerError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command("demo-campaign", hidden=True)
def demo_campaign(
    exit_after: bool = typer.Option(False, "--exit"),
    speed: float = typer.Option(None, "--speed"),
) -> None:
    """The demo's campaign process (run by `inspections demo` under its supervisor)."""
    from inspections.simulation import demo as demo_module

    settings = load_settings()
    code = demo_module.campaign(settings, keep_running=not exit_after,
                                publish=lambda plan: cli_upstream.simulate_plan(settings, plan,
                                speed), say=typer.echo)
    raise typer.Exit(code)


def main() -> None:
    app(prog_name="inspections")


if __name__ == "__main__":
    sys.exit(main())

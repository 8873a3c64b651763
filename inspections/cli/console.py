"""What every command of the ``inspections`` command line shares: an error that says what
to do and exits, a line to stderr, a progress bar on a terminal, Kafka failures turned into
advice, times read with their offset, the settings read with the city's policy."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import typer


def runnable(incomplete: str = "") -> list[str]:
    """What ``inspections run|ready|rebuild`` take, for the shell's completion."""
    from services import RUNNABLE

    return [name for name in RUNNABLE if name.startswith(incomplete)]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def say(message: str) -> None:
    typer.echo(message, err=True)


def load_settings():
    """A command's settings (``runtime.config.settings.load``: a bad one is said and exits 2), and
    the city's policy file read once before anything starts: a bad one is said, naming its
    line, and exits 2."""
    from runtime.config import policy, settings

    loaded = settings.load()
    if loaded.policy_file is not None:
        try:
            policy.load(loaded)
        except policy.PolicyError as exc:
            fail(f"INSPECTIONS_POLICY_FILE: {exc}", 2)
    return loaded


@contextlib.contextmanager
def kafka_errors(settings):
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


def progress_bar(total: int, label: str):
    """A progress bar on stderr (on a terminal, for 1,000 steps or more) and its task."""
    progress = _bars(disable_below=total)
    return progress, progress.add_task(label, total=total)


def _bars(disable_below: int = 1000):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console, transient=True, disable=not console.is_terminal or disable_below < 1000,
    )


def phases():
    """Progress bars for work in phases: ``bars.phase(label, total)`` starts one and gives
    what to call with each step."""
    bars = _bars()

    def phase(label: str, total: int):
        task = bars.add_task(label, total=total)
        return lambda n: bars.advance(task, n)

    bars.phase = phase
    return bars


def aware_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no offset; write it like 2026-05-01T00:00:00+08:00")
    return when


def existing_file(path: Path) -> Path:
    if not path.is_file():
        fail(f"{path}: no such file", code=2)
    return path

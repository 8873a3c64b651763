"""What this build is: the project's version (its package's), and the versions of what it runs
on that a bug report wants, for ``inspections --version`` and the ``inspections_build_info``
metric."""

from __future__ import annotations

import platform
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed

PROJECT = "inspections"


@cache
def version() -> str:
    try:
        return installed(PROJECT)
    except PackageNotFoundError:  # run from a tree that was never installed
        return "0+unknown"


@cache
def info() -> dict[str, str]:
    """The project's version, Python's, and faust-streaming's and kafka-python's."""
    found = {"version": version(), "python": platform.python_version()}
    for name, label in (("faust-streaming", "faust"), ("kafka-python", "kafka_python")):
        try:
            found[label] = installed(name)
        except PackageNotFoundError:
            found[label] = "none"
    return found

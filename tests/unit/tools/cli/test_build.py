"""What a build says it is: ``inspections --version`` and the ``inspections_build_info``
metric name the installed project's version and the versions it runs on, the same."""

from __future__ import annotations

from importlib.metadata import version

from prometheus_client import REGISTRY, generate_latest
from typer.testing import CliRunner

from inspections.cli.main import app
from runtime.plumbing import metrics  # noqa: F401  (defines the metric)


def test_the_version_is_the_installed_projects_and_the_metric_says_the_same():
    said = CliRunner().invoke(app, ["--version"])
    assert said.exit_code == 0
    assert said.output.split()[:2] == ["inspections", version("inspections")]
    assert f"faust {version('faust-streaming')}" in said.output
    exported = generate_latest(REGISTRY).decode()
    line = next(x for x in exported.splitlines() if x.startswith("inspections_build_info{"))
    assert f'version="{version("inspections")}"' in line and line.endswith(" 1.0")

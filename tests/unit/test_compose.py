"""docker-compose.yml, checked without a Docker engine."""

from __future__ import annotations

import typer.main
import yaml

import services
from inspections.cli import app
from inspections.localkafka import kafka_version
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_has_an_image_or_a_build_context():
    assert COMPOSE["services"]
    for name, service in COMPOSE["services"].items():
        assert service.get("image") or service.get("build"), name
        build = service.get("build")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            assert (REPO / context / "Dockerfile").is_file(), name


def test_the_kafka_image_is_the_release_the_pom_pins():
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


def test_depends_on_names_real_services():
    for name, service in COMPOSE["services"].items():
        for needed in service.get("depends_on", {}):
            assert needed in COMPOSE["services"], (name, needed)


def test_each_app_command_is_a_real_inspections_command():
    cli = typer.main.get_command(app)
    for name, service in COMPOSE["services"].items():
        if service.get("image") != "inspections:local":
            continue
        words = service["command"]
        command = cli
        for word in words:
            if not hasattr(command, "commands"):
                break
            assert word in command.commands, (name, words)
            command = command.commands[word]
        if words[0] == "run":
            assert words[1] in services.APPS, (name, words)


def test_the_app_talks_to_the_compose_broker():
    kafka = COMPOSE["services"]["kafka"]["environment"]
    internal = next(
        part.split("//")[1]
        for part in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
        if part.startswith("INTERNAL://")
    )
    scheduler = COMPOSE["services"]["scheduler"]["environment"]
    assert scheduler["INSPECTIONS_BOOTSTRAP_SERVERS"] == internal

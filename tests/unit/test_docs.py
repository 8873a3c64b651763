"""The docs say what runs: every `inspections ...` command they show is a real command whose
options exist (and whose --help answers), every link between them leads to a file and a
heading that exist, and every repository path they name is there."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from inspections.cli.main import app
from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
        *sorted((REPO / "services").glob("*/README.md")), REPO / "schemas" / "README.md"]
TOP = ("deploy/", "services/", "schemas/", "inspections/", "runtime/", "kernel/", "tests/",
       "bench/", "docs/", "scripts/", ".ci/")


def _commands() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text()
        spans = re.findall(r"`(inspections [^`]+)`", text)
        for block in re.findall(r"```(?:sh|bash)?\n(.*?)```", text, re.S):
            spans += [line.split("#")[0].strip() for line in block.splitlines()
                      if line.strip().startswith("inspections ")]
        found += [(path.name, s) for s in spans]
    return found


def _resolve(words: list[str]):
    command, used = typer.main.get_command(app), ["inspections"]
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command, used = sub, used + [word]
    return command, used


@pytest.mark.parametrize(("doc", "line"), _commands())
def test_each_documented_command_exists_with_its_options(doc, line):
    words = re.sub(r"[\[\]|]", " ", line).split()[1:]
    command, used = _resolve(words)
    assert not hasattr(command, "commands") or words[:1] in (["--help"], ["--version"],
                                                             ["--install-completion"]), \
        f"{doc}: `{line}` names no command"
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{doc}: `{line}`: {word} is no option"
    done = CliRunner().invoke(app, [*used[1:], "--help"])
    assert done.exit_code == 0, done.output


def test_there_are_commands_in_the_docs():
    assert len(_commands()) > 40


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_lead_to_files_and_headings_that_exist():
    for path in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            goal = (path.parent / file).resolve() if file else path
            assert goal.is_relative_to(REPO.resolve()), \
                f"{path.name}: link to {target}: outside the repository (a clone has it not)"
            assert goal.exists(), f"{path.name}: link to {target}: no such file"
            if anchor and goal.suffix == ".md":
                headings = {_slug(h) for h in re.findall(r"(?m)^#+ (.*)$", goal.read_text())}
                assert anchor in headings, f"{path.name}: link to {target}: no such heading"


def test_repository_paths_named_in_the_docs_exist():
    for path in DOCS:
        for name in re.findall(r"`([.\w/-]+)`", path.read_text()):
            if name.startswith(TOP) and "*" not in name and "<" not in name:
                assert (REPO / name).exists(), f"{path.name} names {name}: not there"


def test_nothing_in_the_repository_points_outside_it():
    """A plain clone explains itself: no file names the documents that were the project's
    brief, beside the repository and not in it."""
    outside = re.compile(r"\.\./shared|\bshared/(domain|contract|architecture)\.md")
    found = [f"{p.relative_to(REPO)}:{n}" for p in _text_files()
             for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
             if outside.search(line)]
    assert found == []


def _text_files():
    suffixes = {".py", ".md", ".yaml", ".yml", ".toml", ".html", ".txt", ".cfg", ".ini",
                ".json", ".sh"}
    skip = {".venv", ".git", "node_modules", "__pycache__"}
    for p in REPO.rglob("*"):
        if p.is_file() and not skip & set(p.relative_to(REPO).parts) and (
                p.suffix in suffixes or p.name in ("Makefile", "Dockerfile")):
            yield p

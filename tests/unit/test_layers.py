"""The layers hold (import-linter checks the contracts in ``pyproject.toml``; these check
what it cannot say), and the faust internals the runtime leans on are the pinned ones."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_kernel_imports_the_standard_library_alone():
    allowed = set(sys.stdlib_module_names) | {"__future__", "kernel"}
    strays = {f"{path.name}: {name}" for path in (REPO / "kernel").glob("*.py")
              for name in _imports(path) - allowed}
    assert strays == set()


def test_no_module_is_much_over_400_lines():
    code = [p for folder in ("kernel", "schemas", "runtime", "services", "inspections", "bench")
            for p in (REPO / folder).rglob("*.py")]
    long = {str(p.relative_to(REPO)): n for p in code
            if (n := p.read_text().count("\n")) > 420}
    assert long == {}


def test_faust_is_the_pinned_version_with_every_internal_the_runtime_uses():
    from runtime.faust_runner import faust_internals

    faust_internals.check()  # raises, naming the version or the internal, when it is not


def test_the_check_fails_loudly_on_a_missing_internal(monkeypatch):
    from runtime.faust_runner import faust_internals

    monkeypatch.setattr(faust_internals, "_USED",
                        (*faust_internals._USED, ("faust.streams", "Stream", "_gone")))
    with pytest.raises(faust_internals.UnsupportedFaust, match="lacks faust.streams.Stream._gone"):
        faust_internals.check()


def test_the_check_fails_loudly_on_another_version(monkeypatch):
    from runtime.faust_runner import faust_internals

    monkeypatch.setattr(faust_internals, "PINNED", "0.14.0")
    with pytest.raises(faust_internals.UnsupportedFaust, match="0.15.3 is installed"):
        faust_internals.check()


def test_the_pin_in_pyproject_is_the_one_checked():
    from runtime.faust_runner import faust_internals

    text = (REPO / "pyproject.toml").read_text()
    assert f'"faust-streaming[rocksdict]=={faust_internals.PINNED}"' in text


def test_the_readme_shows_the_declared_topology():
    from inspections.upstream.topology import table
    from services import SYSTEM

    readme = (REPO / "README.md").read_text()
    missing = [line for line in table(SYSTEM) if line not in readme]
    assert missing == [], "the README's Layout lags the declarations: paste these lines"

"""Reading a YAML file node by node, so that every error names the line it is about (PyYAML's
composed nodes carry their place; its plain ``safe_load`` forgets it)."""

from __future__ import annotations

import math


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the line."""


class Reader:
    def __init__(self, text: str, source: str) -> None:
        import yaml

        self.source = source
        self.loader = yaml.SafeLoader(text)

    def root(self):
        import yaml

        try:
            node = self.loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            self.fail(mark.line + 1 if mark else 1, f"not YAML: {exc.problem or exc}")
        except yaml.YAMLError as exc:
            self.fail(1, f"not YAML: {exc}")
        if node is None:
            self.fail(1, "empty: a mapping of ladder, actions, level_up_h and team is expected")
        return node

    def fail(self, line: int, message: str):
        raise PolicyError(f"policy file {self.source}, line {line}: {message}")

    def mapping(self, node, what: str, allowed: set[str] | None = None) -> dict:
        """A mapping's entries: key -> (value node, line). Keys must be text (and, with
        ``allowed``, among those)."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.fail(node.start_mark.line + 1, f"{what} must be a mapping")
        out = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            name = self.scalar(key)
            if not isinstance(name, str):
                self.fail(line, f"{what}: {name!r} is not a name")
            if allowed is not None and name not in allowed:
                self.fail(line, f"{what}: unknown entry {name!r}: one of "
                                f"{', '.join(sorted(allowed))}")
            if name in out:
                self.fail(line, f"{what}: {name} is given twice")
            out[name] = (value, line)
        return out

    def scalar(self, node):
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            self.fail(node.start_mark.line + 1, "a single value is expected here")
        return self.loader.construct_object(node, deep=True)

    def number(self, node, line: int, most: float, positive: bool = False) -> float:
        """A finite number up to ``most`` (YAML's ``.nan`` and ``.inf`` are floats too, and a
        limit of ``1.0e+8`` hours overflows the calendar when a deadline is counted)."""
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(line, f"a number is expected; got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(line, f"a finite number is expected; got {value!r}")
        if positive and value <= 0:
            self.fail(line, f"a number above 0 is expected; got {value!r}")
        if value > most:
            self.fail(line, f"a number of at most {most:g} is expected; got {value!r}")
        return float(value)

    def whole(self, node, line: int, most: int) -> int:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(line, f"a whole number is expected; got {value!r}")
        if value > most:
            self.fail(line, f"a whole number of at most {most} is expected; got {value!r}")
        return value

    def close(self) -> None:
        self.loader.dispose()

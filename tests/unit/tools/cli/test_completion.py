"""The shell completes the command's words: its commands, and the services a worker runs as
(the console script as a shell calls it, with bash's completion variables)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("inspections")


def _complete(line: str) -> list[str]:
    words = line.split(" ")
    env = {**os.environ, "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1),
           "_INSPECTIONS_COMPLETE": "complete_bash"}
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_commands_and_the_services_complete():
    assert _complete("inspections rep") == ["replay", "report"]
    assert _complete("inspections run ") == ["scheduler", "findings", "escalation", "all"]
    assert _complete("inspections rebuild e") == ["escalation"]

"""``.env.example`` names every setting, each once, and nothing that is not one: a new setting
without its line fails here."""

from __future__ import annotations

import re
from pathlib import Path

from runtime.config.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[4] / ".env.example"


def test_the_example_names_every_setting_once_and_nothing_else():
    named = re.findall(r"^# (INSPECTIONS_[A-Z0-9_]+)=", EXAMPLE.read_text(), re.M)
    assert len(named) == len(set(named))
    assert set(named) == {f"INSPECTIONS_{name.upper()}" for name in Settings.model_fields}

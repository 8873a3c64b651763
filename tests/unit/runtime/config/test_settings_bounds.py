"""Settings are checked the same wherever they come from: a misspelt name in `.env` or in
lower case is named like one in the environment, and every number must be finite and
within a bound a city never needs to pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from runtime.config.settings import MAX_LIMIT_H, Settings
from tests.conftest import REPO


def _load(cwd, **env) -> subprocess.CompletedProcess:
    """``settings.load()`` in a process of its own, in ``cwd`` (where it reads ``.env``)."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("INSPECTIONS_")}
    return subprocess.run(
        [sys.executable, "-c", "from runtime.config import settings; s = settings.load(); "
                               "print(s.timezone, s.log_level)"],
        cwd=cwd, env={**clean, "PYTHONPATH": str(REPO), **env}, capture_output=True,
        text=True, timeout=60)


def test_a_misspelt_name_in_dot_env_is_named_with_its_line(tmp_path):
    (tmp_path / ".env").write_text(
        "# the city's settings\nINSPECTIONS_LOG_LEVEL=debug\n\n"
        "INSPECTIONS_TIMEZON=Asia/Tokyo\nexport inspections_lmit_report_major_hazard_h=12\n"
        "GRAFANA_ADMIN_PASSWORD=not-ours\n")
    done = _load(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Asia/Shanghai", "DEBUG"]  # .env is read; the typo is not
    assert "INSPECTIONS_TIMEZON (.env, line 4) is not a setting" in done.stderr
    assert "inspections_lmit_report_major_hazard_h (.env, line 5) is not a setting" in \
        done.stderr
    assert "GRAFANA" not in done.stderr and "LOG_LEVEL" not in done.stderr


def test_a_lower_case_misspelling_in_the_environment_is_named_a_lower_case_setting_is_not(
        tmp_path):
    done = _load(tmp_path, inspections_timezon="Asia/Tokyo", inspections_log_level="debug")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Asia/Shanghai", "DEBUG"]  # read whatever its case
    assert "inspections_timezon is not a setting" in done.stderr
    assert "log_level" not in done.stderr


def test_a_bad_value_in_dot_env_stops_the_command_naming_the_setting(tmp_path):
    (tmp_path / ".env").write_text("INSPECTIONS_LIMIT_REPORT_MAJOR_HAZARD_H=nan\n")
    done = _load(tmp_path)
    assert done.returncode == 2
    assert "INSPECTIONS_LIMIT_REPORT_MAJOR_HAZARD_H: Input should be a finite number" in \
        done.stderr


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
@pytest.mark.parametrize("name", [
    "limit_issue_enforcement_document_h", "escalation_level_up_h", "county_township_share",
    "zone_department_share", "alert_hold_s", "clock_interval_s", "metrics_interval_s",
    "kafka_timeout_s", "group_session_timeout_s", "batch_linger_ms",
    "simulate_days_per_second", "broker_start_timeout_s"])
def test_no_number_setting_takes_nan_or_infinity(name, value):
    with pytest.raises(ValidationError):
        Settings(**{name: value})


@pytest.mark.parametrize(("name", "most"), [
    ("limit_transfer_for_investigation_h", MAX_LIMIT_H), ("escalation_level_up_h", MAX_LIMIT_H),
    ("team_max_size", 100), ("team_min_size", 100), ("county_min_days", 366),
    ("zone_min_days", 366), ("rectification_report_months", 12), ("alert_hold_s", 86400),
    ("group_session_timeout_s", 1800), ("partitions", 1000), ("batch_max_records", 100_000),
    ("county_min_enterprises", 1_000), ("zone_min_communities", 1_000),
    ("state_cache_entries", 10_000_000), ("replay_workers", 256),
    ("clock_interval_s", 86400), ("page_refresh_s", 86400)])
def test_each_number_setting_has_an_upper_bound(name, most):
    assert getattr(Settings(**{name: most}), name) == most
    with pytest.raises(ValidationError, match="less than or equal"):
        Settings(**{name: most + 1})
    with pytest.raises(ValidationError):
        Settings(**{name: 1.0e8})


def test_every_number_setting_is_bounded_above():
    """None is left out: a new number setting needs its bound too."""
    from annotated_types import Le, Lt

    unbounded = []
    for name, field in Settings.model_fields.items():
        if field.annotation not in (int, float):
            continue
        if not any(isinstance(m, (Le, Lt)) for m in field.metadata):
            unbounded.append(name)
        if field.annotation is float:
            assert any(getattr(m, "allow_inf_nan", None) is False for m in field.metadata), name
    assert unbounded == []

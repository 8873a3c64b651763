"""A scenario: a campaign's plan and what happens in it, as a data file that a city's planners
could write (YAML or JSON; ``inspections/simulation/data/scenarios/zhangzhou-2026.yaml`` is the seed's).
``load`` reads and checks one; a bad file is refused with the field and the problem."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.fields import Category

SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitSpec(_Spec):
    id: str = Field(min_length=1)
    name: str
    pinyin: str
    kind: Literal["county", "zone"]
    townships: int = Field(ge=0)
    departments: int = Field(ge=0)


class TeamSpec(_Spec):
    id: str
    size: int = Field(default=8, ge=1)
    untrained: int = Field(default=0, ge=0)  # members not trained before it starts
    deputies: int = Field(default=1, ge=0)


class FindingSpec(_Spec):
    """A finding that goes its own way (the usual ones are counted in ``findings``)."""

    category: Category
    cannot_ensure_safety: bool = False
    listed_supervision_advised: bool = False
    evidence: bool = True
    advice: bool = True
    description: str | None = None
    answer_after_h: float | None = Field(default=None, gt=0)  # else within response_hours
    never_answered: bool = False
    resolved_after_h: float | None = Field(default=None, gt=0)
    acknowledged_early: bool = False  # an acknowledgement first, which closes no document
    rectified: bool = True  # false: listed as pending in the report (a follow-up owed)
    followed_up_after_days: float | None = Field(default=None, gt=0)  # rectified after the report
    spot_check: Literal["confirmed", "not_rectified"] = "confirmed"
    # 挂牌督办: the unit's safety committee decides to list it (instead of acknowledging the
    # recommendation), and lifts the listing after some days.
    listed: bool = False
    lifted_after_days: float | None = Field(default=None, gt=0)
    concluded_after_h: float | None = Field(default=None, gt=0)  # the investigation's outcome
    # Corrections: amended to another category after some hours, or withdrawn.
    amended_to: Category | None = None
    amended_after_h: float = Field(default=2, gt=0)
    withdrawn_after_h: float | None = Field(default=None, gt=0)


class SitesSpec(_Spec):
    township_share: float = Field(default=0.0, ge=0, le=1)
    department_share: float = Field(default=0.0, ge=0, le=1)
    communities: int = Field(default=0, ge=0)
    enterprises: int = Field(default=0, ge=0)


class VisitSpec(_Spec):
    unit: str
    team: str
    batch: int = Field(ge=1)
    phase: int | None = None
    planned_start: date
    planned_end: date
    untrained: int | None = Field(default=None, ge=0)  # the team's, unless given here
    started: datetime | None = None  # default: planned start, 09:00
    ended: datetime | Literal["never"] | None = None  # default: planned end, 17:00
    sites: SitesSpec = SitesSpec()
    findings: dict[Category, int] = Field(default_factory=dict)
    special: list[FindingSpec] = Field(default_factory=list)
    feedback_after_days: float = Field(default=14, ge=0)
    report_after_days: float | None = Field(default=50, ge=0)  # None: never reported
    spot_check_after_days: float = Field(default=20, ge=0)
    look_back_after_days: float = Field(default=60, ge=0)  # 回头看, after the spot check
    check_method: Literal["spot_check", "unannounced_visit"] = "spot_check"  # the first check


class PolicyChangeSpec(_Spec):
    """A policy the city adopts mid-campaign (``policy.adopted``): ``changes`` in the policy
    file's form, over the seed's defaults."""

    at: datetime
    id: str = Field(min_length=1)
    note: str = ""
    changes: dict


class CampaignSpec(_Spec):
    id: str
    year: int
    title: str
    coverage_due: date
    planned_at: datetime


class Scenario(_Spec):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    description: str = ""
    seed: int = 0
    utc_offset_h: float = 8
    response_hours: tuple[float, float] = (2, 20)
    campaign: CampaignSpec
    units: list[UnitSpec]
    teams: list[TeamSpec]
    visits: list[VisitSpec]
    until: datetime
    # 报告市政府: on this day of each month the city office reports to the city government the
    # status of every unit whose rectification report arrived (or fell due) since the last one
    # (None: never); the units in ``status_report_late`` are named one month later than that.
    status_report_day: int | None = Field(default=5, ge=1, le=28)
    status_report_late: list[str] = Field(default_factory=list)
    policy_changes: list[PolicyChangeSpec] = Field(default_factory=list)

    @field_validator("visits")
    @classmethod
    def _one_visit_per_unit_and_batch(cls, visits):
        seen = set()
        for v in visits:
            if (v.unit, v.batch) in seen:
                raise ValueError(f"two visits of {v.unit} in batch {v.batch}")
            seen.add((v.unit, v.batch))
        return visits

    def model_post_init(self, _) -> None:
        units, teams = {u.id for u in self.units}, {t.id for t in self.teams}
        for v in self.visits:
            if v.unit not in units:
                raise ValueError(f"visit of unknown unit {v.unit!r} (units: {sorted(units)})")
            if v.team not in teams:
                raise ValueError(f"visit of {v.unit} by unknown team {v.team!r}")


class ScenarioError(ValueError):
    pass


def load(path: Path) -> Scenario:
    """Read a scenario file; a bad one raises ``ScenarioError`` saying where and what."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read it: {exc}") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScenarioError(f"{path}: {where}: {first['msg']} "
                            f"({exc.error_count()} problem(s) in all)") from None


def find(name_or_path: str) -> Path:
    """A scenario shipped with the project by name (``zhangzhou-2026``), or a file."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = SCENARIOS / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
    raise ScenarioError(f"no scenario {name_or_path!r}: give a file, or one of {names}")

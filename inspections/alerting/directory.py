"""The directory (通讯录): who is who for each unit and each of the city's authorities, to
whom notices go (``INSPECTIONS_DIRECTORY_FILE``, YAML; ``deploy/directory.yaml`` is an
example)::

    city:                                # the city's authorities: every unit's notices
      city_safety_office:
        - {name: 市政府安办值班室, email: anban@example.gov.cn}
    units:
      pinghe:
        name: 平和县                      # how notices name the unit
        local_regulator:
          - {name: 平和县应急管理局, email: yjj@pinghe.example.gov.cn,
             chat: https://chat.example/robot/send?key=...}
        unit_government: [...]

``inspections notices config`` turns it into Alertmanager's routes and receivers: each
notice goes to the people of its unit's authority (or of the city's authority, for every
unit), by e-mail and by a chat robot's webhook.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel.vocabulary import AUTHORITIES, ROLE_AUTHORITIES

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
CITY_WIDE = (*ROLE_AUTHORITIES["city"], *ROLE_AUTHORITIES["authority"])
OF_A_UNIT = ROLE_AUTHORITIES["unit"]


class DirectoryError(ValueError):
    """A directory file that cannot be used: the message names the entry at fault."""


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: str | None = None
    chat: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")

    @field_validator("email")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError(f"not an e-mail address: {value[:80]!r}")
        return value


class UnitEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, max_length=200)
    local_regulator: list[Person] = []
    unit_government: list[Person] = []
    unit_safety_committee: list[Person] = []


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    city: dict[str, list[Person]] = {}
    units: dict[str, UnitEntry] = {}

    @field_validator("city")
    @classmethod
    def _city_authorities(cls, value: dict) -> dict:
        for name in value:
            if name not in CITY_WIDE:
                raise ValueError(f"{name!r} is no authority of the city's: one of "
                                 f"{', '.join(CITY_WIDE)} (a unit's are under units:)")
        return value

    def unit_name(self, unit_id: str) -> str:
        entry = self.units.get(unit_id)
        return entry.name if entry is not None and entry.name else unit_id

    def people(self) -> dict[tuple[str | None, str], list[Person]]:
        """Each (unit or None for every unit, authority) and its people."""
        found: dict[tuple[str | None, str], list[Person]] = {
            (None, a): list(p) for a, p in self.city.items() if p}
        for unit, entry in self.units.items():
            for authority in OF_A_UNIT:
                if getattr(entry, authority):
                    found[(unit, authority)] = list(getattr(entry, authority))
        return found


def load(path: Path) -> Directory:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DirectoryError(f"{path}: not a readable directory file ({exc})") from None
    try:
        return Directory.model_validate(loaded)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DirectoryError(f"{path}: {where}: {first['msg']}") from None


def authority_label(authority: str) -> tuple[str, str]:
    """An authority's Chinese and English names."""
    zh, _, en = AUTHORITIES.get(authority, authority).partition(" ")
    return zh, en or zh

"""How much a unit's state keeps at most, however many records are published about it.

With the contract's bounds on each field (ids, texts, lists), these keep every key of a
service's state (a unit's header, a finding, a visit, an escalation, the campaign side's
open campaigns) well within one changelog record (8 MiB): a flood of records stops growing the
state here instead of growing one key until the broker refuses it. Real campaigns come nowhere
near them (the seed's units have tens of findings and one visit a year). The campaign side
keeps each midnight and each unit's visit ends under a key of its own
(``services/scheduler/store.py``). What is not kept is
said: a unit's notes say that later ones are not kept, an event refused for a full unit is
noted like any event its rules cannot apply.
"""

from __future__ import annotations

from typing import Any, TypeVar

NOTES = 1_000  # notes of a unit's anomalies or unmatched events (the first ones)
STEPS = 50  # steps in one finding's or escalation's history (the first, and the latest)
FINDINGS = 2_000  # findings of one unit
ESCALATIONS = 3 * FINDINGS  # a finding raises at most three (its category's and two flags')
VISITS = 200  # visits of one unit
SITES = 1_000  # sites of one kind visited in one visit
CHECKS = 200  # checks after a visit's report (spot checks, unannounced visits, look-backs)
BREACHES = 50_000  # breaches of one unit the findings service keeps for the assessment
OPEN_CAMPAIGNS = 1_000  # campaigns planned and not yet judged
STATUS_CAMPAIGNS = 1_000  # campaigns whose reports to the city government are kept
STATUS_OWED = 10_000  # visits of one campaign owing a status report (each ~250 bytes)
POLICIES = 100  # adopted policies a partition keeps in its history (the latest)
STATUS_SENT = 1_000  # status reports of one campaign kept (the city office sends a few a year)

NOTES_FULL = f"later notes of this unit are not kept (at most {NOTES})"

T = TypeVar("T")


def noted(notes: tuple[T, ...], note: T, full: Any = NOTES_FULL) -> tuple[T, ...]:
    """``notes`` and ``note``: the first NOTES - 1, then ``full`` saying that later ones are
    not kept (None: nothing said), then nothing more."""
    if len(notes) < NOTES - 1:
        return (*notes, note)
    if len(notes) == NOTES - 1:
        return (*notes, note if full is None else full)
    return notes


def stepped(history: tuple[T, ...], step: T) -> tuple[T, ...]:
    """``history`` and ``step``: full, its last step is the latest (its first ones kept)."""
    if len(history) < STEPS:
        return (*history, step)
    return (*history[:STEPS - 1], step)

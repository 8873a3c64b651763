"""What the findings service does with one record, given where its state lives (no faust).

- ``FindingsFlow.on_event``: an event of ``inspections.events`` through the unit core;
  returns the breaches of the general rule and the changed views to re-key.
- ``FindingsFlow.on_breach``: a ``deadline.breached`` of any service, kept for the assessment.
- ``ViewsFlow.on_forward``: one re-keyed view into the cross-unit views (one partition).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from kernel.breaches import Breach
from kernel.deadlines import Irregular, Timeline, process
from services.findings.rules import FindingsCore, Policy, UnitFindings
from services.findings.views import assessment, assessment_years, finding_view


@dataclass(frozen=True)
class FindingForward:
    view: dict


@dataclass(frozen=True)
class AssessmentForward:
    unit_id: str
    years: dict[int, dict]


Forward = FindingForward | AssessmentForward


class FindingsFlow:
    """``views=False`` (the replay, which builds the views from the final states) returns no
    forwards."""

    def __init__(self, policy: Policy, views: bool = True) -> None:
        self.policy = policy
        self.core = FindingsCore(policy)
        self.views = views
        self.irregular = Irregular()  # no stream time here: nothing is late

    def on_event(self, event: Any, states: MutableMapping[str, UnitFindings],
                 seen: Callable[[str], bool]) -> tuple[tuple[Breach, ...], list[Forward]]:
        key = self.core.key(event)
        before = states.get(key) if key else None
        # No deadlines of its own: stream time does not matter here, so none is kept.
        outcome = process(self.core, Timeline(), states, seen, event)
        if outcome.duplicate:
            self.irregular.count("duplicate")
        if key is None or outcome.duplicate:
            return outcome.derived, []
        after = states[key]
        self.irregular.note(after.unmatched[len(before.unmatched) if before else 0:])
        return outcome.derived, self._changes(before, after)

    def on_breach(self, breach_event: Any, states: MutableMapping[str, UnitFindings]
                  ) -> list[Forward]:
        unit_id = breach_event.data.unit_id
        before = states.get(unit_id)
        after = self.core.breach_read(before or self.core.initial(unit_id), breach_event)
        if after is before:
            return []
        states[unit_id] = after
        return self._changes(before, after)

    def _changes(self, before: UnitFindings | None, after: UnitFindings) -> list[Forward]:
        if after is before or not self.views:
            return []
        return self.forwards(after, before.findings if before else {})

    def forwards(self, after: UnitFindings, old: dict) -> list[Forward]:
        """The views of a unit's findings that are not in ``old``, and its assessment."""
        forwards: list[Forward] = [
            FindingForward(finding_view(after.unit_id, f))
            for fid, f in after.findings.items() if old.get(fid) is not f
        ]
        tz = self.policy.timezone
        forwards.append(AssessmentForward(after.unit_id, {
            year: assessment(after, year, tz) for year in assessment_years(after, tz)}))
        return forwards


class ViewsFlow:
    """``store`` keys: ``finding:<id>`` (a finding's view), ``unit:<id>`` and ``visit:<id>``
    (their finding ids, in order of recording), ``assessment:<unit>`` (by year): one key per
    unit, so that an update costs the same however many units there are."""

    def on_forward(self, forward: Forward, store: MutableMapping[str, Any]) -> None:
        if isinstance(forward, AssessmentForward):
            store[f"assessment:{forward.unit_id}"] = {str(y): a for y, a in forward.years.items()}
            return
        view = forward.view
        store[f"finding:{view['finding_id']}"] = view
        for index in (f"unit:{view['unit_id']}", f"visit:{view['visit_id']}"):
            ids = tuple(store.get(index) or ())
            if view["finding_id"] not in ids:
                store[index] = (*ids, view["finding_id"])


def problem_list(store: MutableMapping[str, Any], index: str, status: str | None = None,
                 category: str | None = None) -> list[dict] | None:
    ids = store.get(index)
    if ids is None:
        return None
    views = [store[f"finding:{i}"] for i in ids]
    return [v for v in views if (status is None or v["status"] == status)
            and (category is None or v["category"] == category)]


def year_assessment(store: MutableMapping[str, Any], year: int) -> dict:
    units = [entry for key in store if key.startswith("assessment:")
             if (entry := store[key].get(str(year))) is not None]
    return {"year": year, "units": sorted(units, key=lambda a: a["unit_id"])}

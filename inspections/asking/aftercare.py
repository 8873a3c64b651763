"""After-care (跟踪监督) for people: the rectification ledger as the problem list (问题清单)
with its columns, and the draft of the city office's report to the city government
(报告市政府) of a campaign — per unit the ledger by state, follow-ups overdue, checks by
method, listed hazards and open transfers, and whether a status report named it in time.

Asked of the running services' views (the findings service's ``/ledger``,
``/units/{unit_id}/ledger``, ``/listed``, ``/transfers``; the scheduler's
``/campaigns/{campaign_id}`` and its ``status-reports``), the same for the command line and
the operator page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspections.asking import sheets
from kernel.vocabulary import CHECK_METHODS, LEDGER_STATES

# The problem list's columns, each a finding's.
LEDGER_COLUMNS = [
    "unit_id", "finding_id", "visit_id", "category", "sector", "aspect", "item",
    "description", "recorded_at", "ledger", "since", "follow_up_due", "follow_up_overdue",
    "steps", "last_event_id",
]
# The draft's columns, each a unit's.
DRAFT_COLUMNS = [
    "unit_id", "unit_name", *(f"ledger_{s}" for s in LEDGER_STATES), "follow_ups_open",
    "follow_ups_overdue", *(f"checks_{m}" for m in CHECK_METHODS), "look_back",
    "listed_hazards", "open_transfers", "status_owed_since", "status_due", "status_covered_by",
    "status_breached_at",
]
Get = Callable[..., Any]  # (service, path, **query) -> the view's JSON, None for a 404


def ledger_rows(get: Get, campaign: str | None = None, unit: str | None = None) -> list[dict]:
    """One row a finding, by unit and in the order recorded: the campaign's (or every)
    unit's ledger, or one unit's."""
    if unit is not None:
        units = [unit]
    else:
        whole = get("findings", "/ledger", campaign=campaign) or {"units": []}
        units = [row["unit_id"] for row in whole["units"]]
    rows = []
    for unit_id in units:
        found = get("findings", f"/units/{unit_id}/ledger", campaign=campaign)
        for f in (found or {}).get("findings", []):
            follow_up = f["follow_up"] or {}
            rows.append({
                **{k: f.get(k) for k in ("unit_id", "finding_id", "visit_id", "category",
                                         "sector", "aspect", "item", "description",
                                         "recorded_at", "ledger", "since")},
                "follow_up_due": follow_up.get("due") if not follow_up.get("ended_at") else None,
                "follow_up_overdue": f["follow_up_overdue"],
                "steps": " → ".join(s["ledger"] for s in f["steps"]),
                "last_event_id": f["steps"][-1]["event_id"] if f["steps"] else None,
            })
    return rows


def draft(get: Get, campaign: str) -> dict | None:
    """The draft of the status report to the city government for ``campaign``: each planned
    unit's line (None: no such campaign)."""
    plan = get("scheduler", f"/campaigns/{campaign}")
    if plan is None:
        return None
    ledger = get("findings", "/ledger", campaign=campaign) or {"units": [], "as_of": None}
    listed = get("findings", "/listed") or {"listed": []}
    transfers = get("findings", "/transfers") or {"transfers": []}
    status = get("scheduler", f"/campaigns/{campaign}/status-reports") or {"owed": [],
                                                                          "sent": []}
    lines = {r["unit_id"]: r for r in ledger["units"]}
    owed: dict[str, dict] = {}
    for o in status["owed"]:  # a unit's latest visit owing one
        owed[o["unit_id"]] = o
    units = []
    for planned in plan["units"]:
        unit_id = planned["unit_id"]
        line = lines.get(unit_id) or {}
        o = owed.get(unit_id) or {}
        mine_listed = [h for h in listed["listed"] if h["unit_id"] == unit_id]
        mine_open = [t for t in transfers["transfers"] if t["unit_id"] == unit_id]
        units.append({
            "unit_id": unit_id, "unit_name": planned.get("name"),
            **{f"ledger_{s}": (line.get("by_state") or {}).get(s, 0) for s in LEDGER_STATES},
            "follow_ups_open": line.get("follow_ups_open", 0),
            "follow_ups_overdue": line.get("follow_ups_overdue", 0),
            **{f"checks_{m}": (line.get("checks_by_method") or {}).get(m, 0)
               for m in CHECK_METHODS},
            "look_back": line.get("look_back", False),
            "listed_hazards": len(mine_listed), "open_transfers": len(mine_open),
            "status_owed_since": o.get("since"), "status_due": o.get("due"),
            "status_covered_by": o.get("covered_by"), "status_breached_at": o.get("breached_at"),
            "listed": mine_listed, "transfers": mine_open,
        })
    return {"campaign_id": campaign, "title": plan.get("title"), "as_of": ledger.get("as_of"),
            "units": units, "sent": status["sent"],
            "no_look_back": ledger.get("no_look_back", [])}


def draft_xlsx(found: dict) -> bytes:
    """The draft as a workbook: the units, the listed hazards, the open transfers, the status
    reports sent."""
    listed = [h for u in found["units"] for h in u["listed"]]
    transfers = [t for u in found["units"] for t in u["transfers"]]
    return sheets.to_xlsx([
        ("units", DRAFT_COLUMNS, found["units"]),
        ("listed hazards", ["unit_id", "finding_id", "document_no", "listed_at", "age_s",
                            "description"], listed),
        ("open transfers", ["unit_id", "finding_id", "recorded_at", "age_s", "description"],
         transfers),
        ("status reports sent", ["report_id", "time", "unit_ids", "event_id"], found["sent"]),
    ])


def draft_lines(found: dict) -> list[str]:
    """The draft as text, a unit a line."""
    out = [f"# {found['title']} ({found['campaign_id']}), as of {found['as_of'] or '-'}",
           "unit            " + " ".join(f"{s[:8]:>8}" for s in LEDGER_STATES)
           + "  overdue  checks(抽查/暗访/回头看)  listed  transfers  status report"]
    for u in found["units"]:
        status = (f"covered by {u['status_covered_by']}" if u["status_covered_by"]
                  else f"missed (due {u['status_due']})" if u["status_breached_at"]
                  else f"due {u['status_due']}" if u["status_due"] else "not owed yet")
        checks = "/".join(str(u[f"checks_{m}"]) for m in CHECK_METHODS)
        out.append(f"{u['unit_id']:<15} " + " ".join(f"{u[f'ledger_{s}']:>8}"
                                                     for s in LEDGER_STATES)
                   + f"  {u['follow_ups_overdue']:>7}  {checks:>22}  {u['listed_hazards']:>6}"
                   f"  {u['open_transfers']:>9}  {status}")
    if found["no_look_back"]:
        out.append("reported, no look-back (回头看) yet: " + ", ".join(found["no_look_back"]))
    return out


def export_ledger(rows: list[dict], fmt: str) -> bytes:
    if fmt not in sheets.FORMATS:
        raise ValueError(f"format must be csv or xlsx; got {fmt!r}")
    if fmt == "csv":
        return sheets.to_csv(LEDGER_COLUMNS, rows)
    return sheets.to_xlsx([("问题清单 problem list", LEDGER_COLUMNS, rows)])

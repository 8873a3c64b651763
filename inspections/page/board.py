"""What the board shows, from the views (no rule here: counts, filters and times for people)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from inspections.asking.due import countdown


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def overdue_for(escalation: dict, as_of: datetime | None) -> str | None:
    """How long an open escalation has been overdue: since the first due time it missed."""
    missed = [s for s in escalation["history"] if s["what"] == "missed"]
    if not missed or as_of is None or escalation["status"] == "closed":
        return None
    since = _time(missed[0]["due"])
    return countdown(max(0, int((as_of - since).total_seconds())))


def as_of(breaches: list[dict], escalations: list[dict], campaign: dict | None) -> datetime | None:
    """The latest event time the views show: what 'now' is for the board."""
    times = [_time(b["time"]) for b in breaches]
    times += [_time(s["time"]) for e in escalations for s in e["history"]]
    if campaign and campaign.get("judged_at"):
        times.append(_time(campaign["judged_at"]))
    return max(times) if times else None


def board(campaign: dict | None, escalations: list[dict], breaches: list[dict],
          filters: dict[str, str], due_soon: list[dict] = ()) -> dict:
    """What the board page shows, from the views (no rule here: counts and filters)."""
    now = as_of(breaches, escalations, campaign)
    by_level = Counter((e["authority"], e["level"]) for e in escalations)
    shown = [b for b in breaches
             if all(not filters.get(f) or b[f] == filters[f] for f in ("kind", "unit_id",
                                                                        "service"))]
    return {
        "campaign": campaign,
        "as_of": now,
        "escalations": [{**e, "overdue_for": overdue_for(e, now)} for e in escalations],
        "by_authority": [{"authority": a, "level": lvl, "count": n}
                         for (a, lvl), n in sorted(by_level.items())],
        "breaches": shown,
        "breach_total": len(breaches),
        "breach_kinds": sorted({b["kind"] for b in breaches}),
        "breach_units": sorted({b["unit_id"] for b in breaches}),
        "breach_services": sorted({b["service"] for b in breaches}),
        "filters": filters,
        # What is still open: late already (the overdue board), and due within the window.
        "overdue_open": [d for d in due_soon if (d["remaining_s"] or 0) < 0],
        "due_soon": [d for d in due_soon if (d["remaining_s"] or 0) >= 0],
    }




def rejected_board(rejected: list[dict], dropped: int = 0, latest: int = 10) -> dict:
    """The board's rejected section: how many by cause (of those the page keeps; ``dropped``
    older ones it no longer keeps), and the latest few."""
    return {"total": len(rejected), "dropped": dropped,
            "by_cause": sorted(Counter(r["cause"] for r in rejected).items()),
            "latest": list(reversed(rejected[-latest:]))}

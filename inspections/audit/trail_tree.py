"""``audit trail`` in the terminal as a tree: the same picture as the operator page's ladder.

An escalation's events grouped by level (raised or escalated, acknowledged, the breach of a
missed level), each derived event over the inbound event that caused it; then what else names
the id, then the rest of its case (``correlationid``)."""

from __future__ import annotations

from datetime import datetime

from inspections.audit.trail import Entry
from kernel import ids


def _when(e: Entry) -> float:
    try:
        return datetime.fromisoformat(e.time).timestamp()
    except (TypeError, ValueError):
        return float("-inf")


def _label(e: Entry) -> str:
    extra = f" {e.kind}" if e.kind else ""
    by = f" by {e.actor}" if e.actor else ""
    return f"{e.time} {e.type}{extra} {e.id}{by} ({e.topic}[{e.partition}]@{e.offset})"


def _level_of(e: Entry) -> int | None:
    if e.type in ("escalation.raised", "escalation.escalated", "escalation.withdrawn") \
            and isinstance(e.level, int):
        return e.level
    return ids.level_of_deadline(e.deadline_id) if e.deadline_id else None


def tree(ident: str, entries: list[Entry]):
    """A ``rich`` tree of the trail."""
    from rich.tree import Tree

    by_id = {e.id: e for e in entries if e.id}
    root = Tree(f"[bold]{ident}[/bold]")
    placed: set[int] = set()

    def with_causes(branch, e: Entry) -> None:
        node = branch.add(_label(e))
        placed.add(id(e))
        cause, seen = by_id.get(e.causationid or ""), set()
        while cause is not None and cause.id not in seen:
            seen.add(cause.id)
            node = node.add(f"caused by {_label(cause)}")
            placed.add(id(cause))
            cause = by_id.get(cause.causationid or "")

    starts = sorted(((lv, e) for e in entries if e.role != "same case"
                     and (lv := _level_of(e)) is not None and e.type != "deadline.breached"),
                    key=lambda x: _when(x[1]))
    if starts:
        ladder = root.add("the ladder")
        levels = {}
        for level, e in starts:
            if level not in levels:
                levels[level] = ladder.add(f"L{level} {e.authority or ''}, due {e.due or '-'}")
        for e in sorted(entries, key=_when):
            if e.role == "same case" or id(e) in placed:
                continue
            level = _level_of(e)
            if level is None and e.type in ("escalation.acknowledged", "escalation.resolved",
                                            "enforcement.document.issued",
                                            "immediate.measures.taken"):
                # Under the level in force when it came.
                level = max((lv for lv, s in starts if _when(s) <= _when(e)), default=None)
            if level in levels:
                with_causes(levels[level], e)
    named = [e for e in entries if e.role == "named" and id(e) not in placed]
    if named:
        branch = root.add("named")
        for e in sorted(named, key=_when):
            with_causes(branch, e)
    case = [e for e in entries if id(e) not in placed]
    if case:
        branch = root.add(f"same case ({len(case)} events)")
        for e in sorted(case, key=_when):
            branch.add(_label(e))
    return root

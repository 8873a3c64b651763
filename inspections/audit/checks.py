"""What ``audit verify`` reports: each derived topic checked against what the rules derive
from the inbound log (missing, extra, different events, and same-id copies), as text or JSON.
``verify`` makes the checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class TopicCheck:
    topic: str
    computed: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)     # computed, not on the topic
    extra: list[str] = field(default_factory=list)       # on the topic, not computed
    different: list[dict] = field(default_factory=list)  # same id, other content
    copies: list[str] = field(default_factory=list)      # same id, same content, twice
    kinds: dict[str, int] = field(default_factory=dict)  # on the topic: by type (and kind)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.different)


def diff(want: dict, got: dict, path: str = "") -> list[str]:
    out = []
    for key in sorted(set(want) | set(got)):
        where = f"{path}.{key}" if path else key
        a, b = want.get(key, "<absent>"), got.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff(a, b, where)
        elif a != b:
            out.append(f"{where}: expected {json.dumps(a, ensure_ascii=False)}, "
                       f"found {json.dumps(b, ensure_ascii=False)}")
    return out


def report_text(checks: list[TopicCheck]) -> str:
    lines = []
    for c in checks:
        state = "OK" if c.ok else "DIFFERENT"
        lines.append(f"{c.topic}: {state} — {c.computed} computed from the inbound log, "
                     f"{c.found} on the topic")
        if c.kinds:
            lines.append("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(c.kinds.items())))
        for eid in c.missing:
            lines.append(f"  missing (the rules give it, the topic lacks it): {eid}")
        for eid in c.extra:
            lines.append(f"  extra (on the topic, no rule gives it): {eid}")
        for d in c.different:
            lines.append(f"  different at {d['at']}: {d['id']}")
            lines += [f"    {change}" for change in d["changes"]]
        if c.copies:
            lines.append(f"  {len(c.copies)} same-id copies with the same content "
                         f"(at-least-once redelivery): {', '.join(sorted(set(c.copies)))}")
    verdict = "every derived event matches the rules" if all(c.ok for c in checks) else (
        "the derived topics differ from what the rules give")
    return "\n".join(lines + [verdict])


def report_json(checks: list[TopicCheck]) -> dict:
    return {"ok": all(c.ok for c in checks), "topics": [
        {"topic": c.topic, "ok": c.ok, "computed": c.computed, "found": c.found,
         "missing": c.missing, "extra": c.extra, "different": c.different,
         "copies": sorted(set(c.copies)), "kinds": dict(sorted(c.kinds.items()))}
        for c in checks]}

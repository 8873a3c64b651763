"""Pictures for the operator page, drawn on the server as SVG (the page carries no script).

Pure: views in, SVG text out. Every text that came from an event goes through ``esc``; every
number is formatted here. Each picture has a ``<title>`` and ``<desc>`` for a screen reader.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from kernel.vocabulary import AUTHORITIES, VISIT_BREACHES

ON_SITE_BREACHES = frozenset({*VISIT_BREACHES, "team_composition_invalid"})

OK, BAD, OPEN, GREY, INK = "#17692f", "#a11", "#b26b00", "#999", "#222"
FONT = 'font-family="system-ui, Noto Sans CJK SC, sans-serif" font-size="12"'


def esc(text) -> str:
    return escape(str(text), quote=True)


def _svg(width: int, height: int, title: str, body: list[str], desc: str = "") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" {FONT}>'
            f"<title>{esc(title)}</title><desc>{esc(desc or title)}</desc>"
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text, fill: str = INK, anchor: str = "start",
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" fill="{fill}" text-anchor="{anchor}"{extra}>'
            f"{esc(text)}</text>")


def _t(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# -- an escalation's ladder ------------------------------------------------------------------
def ladder(e: dict, breaches: list[dict]) -> str:
    """Each level of one escalation left to right: its authority, due time, and how it ended
    (missed: a breach; closed; still open), with the events behind each step."""
    levels: dict[int, dict] = {}
    for step in e["history"]:
        level = levels.setdefault(step["level"], {"authority": step["authority"],
                                                  "due": step["due"], "steps": []})
        level["steps"].append(step)
        if step["due"]:
            level["due"] = step["due"]
    by_due = {b["due"]: b for b in breaches}
    box_w, gap, top = 220, 40, 20
    body = []
    for i, (number, level) in enumerate(sorted(levels.items())):
        x = 10 + i * (box_w + gap)
        whats = [s["what"] for s in level["steps"]]
        if "missed" in whats:
            colour, outcome = BAD, "missed: breach"
        elif any(w in ("closed", "resolved") for w in whats) or (
                e["status"] == "closed" and number == e["level"]):
            colour, outcome = OK, "closed"
        else:
            colour, outcome = OPEN, "open" if e["status"] == "open" else e["status"]
        steps = level["steps"]
        height = 108 + 16 * len(steps)
        chinese, _, english = AUTHORITIES.get(level["authority"], level["authority"]).partition(" ")
        body.append(f'<g class="level" data-level="{number}">'
                    f'<rect x="{x}" y="{top}" width="{box_w}" height="{height}" rx="6" '
                    f'fill="#fff" stroke="{colour}" stroke-width="2"/>')
        body.append(_text(x + 8, top + 18, f"L{number} {chinese}", extra=' font-weight="600"'))
        body.append(_text(x + 8, top + 34, english or level["authority"], fill=GREY))
        due = (level["due"] or "–").replace("T", " ")[:16]
        body.append(_text(x + 8, top + 52, f"due {due}"))
        body.append(_text(x + 8, top + 70, outcome, fill=colour, extra=' font-weight="600"'))
        breach = by_due.get(level["due"]) if "missed" in whats else None
        if breach:
            body.append(_text(x + 8, top + 86, breach["kind"], fill=BAD))
        for j, step in enumerate(steps):
            when = step["time"][5:16].replace("T", " ")
            body.append(_text(x + 8, top + 106 + 16 * j, f"{when} {step['what']}",
                              fill=GREY, extra=f' data-event="{esc(step["event_id"])}"'))
        body.append("</g>")
        if i:
            ax = x - gap
            body.append(f'<path d="M{ax + 4},{top + 40} L{x - 6},{top + 40}" stroke="{INK}" '
                        f'marker-end="url(#arrow)" fill="none"/>')
    width = 20 + len(levels) * (box_w + gap)
    height = top + 120 + 16 * max((len(lv["steps"]) for lv in levels.values()), default=0)
    arrow = ('<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="6" refY="3" '
             f'orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="{INK}"/></marker></defs>')
    return _svg(width, height, f"escalation {e['escalation_id']}: its levels",
                [arrow, *body], f"{len(levels)} levels; now {e['status']} at level {e['level']}")


# -- time axes --------------------------------------------------------------------------------
class Axis:
    """Campaign time to x: ``t0``..``t1`` onto ``x0``..``x1``, with a tick a month."""

    def __init__(self, t0: datetime, t1: datetime, x0: float, x1: float) -> None:
        self.t0, self.x0, self.x1 = t0, x0, x1
        self.t1 = t1 if t1 > t0 else t0 + timedelta(days=1)

    def x(self, t: datetime) -> float:
        span = (self.t1 - self.t0).total_seconds() or 1.0
        return self.x0 + (self.x1 - self.x0) * (t - self.t0).total_seconds() / span

    def ticks(self, y_top: float, y_bottom: float) -> list[str]:
        out, month = [], self.t0.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while month <= self.t1:
            if month >= self.t0:
                x = self.x(month)
                out.append(f'<line x1="{x:.1f}" y1="{y_top}" x2="{x:.1f}" y2="{y_bottom}" '
                           f'stroke="#eee"/>')
                out.append(_text(x + 2, y_bottom + 14, month.strftime("%Y-%m"), fill=GREY))
            month = month.replace(year=month.year + month.month // 12,
                                  month=month.month % 12 + 1)
        return out


def _times(*texts) -> list[datetime]:
    return [t for text in texts if text and (t := _t(text)) is not None]


# -- campaign coverage over time --------------------------------------------------------------
def coverage_steps(c: dict) -> str:
    """Units inspected in time, step by step as visits end, against the planned count and the
    due (全覆盖)."""
    due = _t(c["due_at"])
    ends = sorted(_t(v["ended_at"]) for u in c["units"] for v in u["visits"][-1:]
                  if v["ended_at"] and u["inspected_in_time"])
    starts = [datetime.fromisoformat(v["planned_start"]).replace(tzinfo=due.tzinfo)
              for u in c["units"] for v in u["visits"] if v["planned_start"]]
    t0 = min([*starts, *ends, due]) if (starts or ends) else due.replace(month=1, day=1)
    t1 = max([due, *ends])
    w, h, left, top, bottom = 680, 220, 40, 20, 180
    axis = Axis(t0, t1, left, w - 60)
    planned = max(c["units_planned"], 1)
    y = lambda n: bottom - (bottom - top) * n / planned  # noqa: E731
    body = axis.ticks(top, bottom)
    body.append(f'<line x1="{left}" y1="{y(planned):.1f}" x2="{w - 60}" y2="{y(planned):.1f}" '
                f'stroke="{GREY}" stroke-dasharray="4 3"/>')
    body.append(_text(left + 4, y(planned) - 4, f"planned {c['units_planned']}", fill=GREY))
    xd = axis.x(due)
    body.append(f'<line x1="{xd:.1f}" y1="{top}" x2="{xd:.1f}" y2="{bottom}" stroke="{BAD}" '
                'stroke-dasharray="4 3"/>')
    body.append(_text(xd - 4, top + 12, f"due {c['due_at'][:10]}", fill=BAD, anchor="end"))
    points, n = [f"{left:.1f},{bottom:.1f}"], 0
    for t in ends:
        x = axis.x(t)
        points.append(f"{x:.1f},{y(n):.1f}")
        n += 1
        points.append(f"{x:.1f},{y(n):.1f}")
    points.append(f"{axis.x(t1):.1f},{y(n):.1f}")
    colour = OK if n == c["units_planned"] else OPEN
    body.append(f'<polyline class="coverage" points="{" ".join(points)}" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>')
    body.append(_text(left, bottom + 32, f"{n} of {c['units_planned']} units inspected in time"
                      f" ({c['coverage'] * 100:.0f} %)", extra=' font-weight="600"'))
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{w - 60}" y2="{bottom}" stroke="{INK}"/>')
    return _svg(w, h, f"coverage of campaign {c['campaign_id']} over time", body,
                f"{n} of {c['units_planned']} planned units inspected in time, due {c['due_at']}")


def coverage_bars(c: dict) -> str:
    """Each unit's coverage figures (its latest visit) as bars against their thresholds: a
    bar's length is the figure over what the rule asks, the line at 100 % the threshold;
    green met, red short at the visit's end, amber short so far on site."""
    kinds = ("township", "community", "department", "enterprise", "days")
    rows = [(u, u["visits"][-1]) for u in c["units"] if u["visits"]]
    w, row_h, left, cell = 700, 18, 170, 100
    h = 40 + row_h * max(len(rows), 1)
    body = [_text(left + i * (cell + 4), 14, k, fill=GREY) for i, k in enumerate(kinds)]
    for r, (u, v) in enumerate(rows):
        y = 24 + r * row_h
        body.append(f'<g class="unit" data-unit="{esc(u["unit_id"])}">')
        body.append(_text(4, y + 12, f"{u['name']} {u['unit_id']}"))
        figures = dict(v["coverage"])
        if v["days_on_site"] is not None:
            figures["days"] = {"visited": v["days_on_site"], "required": v["required_days"],
                               "met": v["days_on_site"] >= v["required_days"]}
        for i, kind in enumerate(kinds):
            f = figures.get(kind)
            if f is None:
                continue
            ratio = (f["share"] / f["required_share"] if "share" in f and f["required_share"]
                     else f["visited"] / f["required"] if f.get("required") else 1.0)
            x0 = left + i * (cell + 4)
            length = min(ratio, 1.5) / 1.5 * cell
            # Not met on a visit still on site is not a breach yet: amber, not red.
            colour = OK if f["met"] else BAD if v["ended_at"] else OPEN
            body.append(f'<rect x="{x0}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
                        f'fill="{colour}" opacity="0.8"><title>{esc(kind)}: '
                        f'{ratio * 100:.0f} % of the threshold</title></rect>')
            mark = x0 + cell / 1.5
            body.append(f'<line x1="{mark:.1f}" y1="{y + 1}" x2="{mark:.1f}" y2="{y + row_h - 1}"'
                        f' stroke="{INK}"/>')
        body.append("</g>")
    return _svg(w, h, f"coverage figures of campaign {c['campaign_id']} against thresholds",
                body, "one row per unit; the line in each cell is the threshold")


# -- the visits as a timeline (Gantt) ----------------------------------------------------------
def _spot_checks(findings: list[dict], visit_id: str) -> list[datetime]:
    return sorted({_t(s["time"]) for f in findings if f["visit_id"] == visit_id
                   for s in f["history"] if s["event_type"] == "spot_check.conducted"})


def gantt(c: dict, findings_by_unit: dict[str, list[dict]], as_of: datetime | None) -> str:
    """One row per unit: planned days (light) against the days on site (dark), feedback (◆),
    the report's due (red |) and its receipt (●), spot checks (▲) and look-backs (回头看, △:
    every check after the first)."""
    due = _t(c["due_at"])
    rows = [(u, v) for u in c["units"] for v in u["visits"][-1:]]
    times = [due]
    for u, v in rows:
        times += _times(v["started_at"], v["ended_at"], v["feedback_at"], v["report_due"],
                        v["report_at"])
        times += [datetime.fromisoformat(d).replace(tzinfo=due.tzinfo)
                  for d in (v["planned_start"], v["planned_end"]) if d]
        times += _spot_checks(findings_by_unit.get(u["unit_id"], []), v["visit_id"])
    w, row_h, left, top = 900, 20, 170, 24
    axis = Axis(min(times), max(times), left, w - 20)
    h = top + row_h * max(len(rows), 1) + 50
    body = axis.ticks(top - 4, top + row_h * len(rows))
    for r, (u, v) in enumerate(rows):
        y = top + r * row_h
        body.append(f'<g class="visit" data-visit="{esc(v["visit_id"])}">')
        body.append(_text(4, y + 13, f"{u['name']} {u['unit_id']}"))
        if v["planned_start"] and v["planned_end"]:
            a = axis.x(datetime.fromisoformat(v["planned_start"]).replace(tzinfo=due.tzinfo))
            b = axis.x(datetime.fromisoformat(v["planned_end"]).replace(tzinfo=due.tzinfo)
                       + timedelta(days=1))
            body.append(f'<rect class="planned" x="{a:.1f}" y="{y + 3}" width="{b - a:.1f}" '
                        f'height="{row_h - 6}" fill="#ddd"><title>planned</title></rect>')
        if v["started_at"]:
            end = _t(v["ended_at"]) or as_of or _t(v["started_at"])
            a, b = axis.x(_t(v["started_at"])), axis.x(end)
            # Red where the visit itself fell short (days, coverage, team), not its report.
            colour = BAD if set(v["breaches"]) & ON_SITE_BREACHES else OK
            body.append(f'<rect class="on-site" x="{a:.1f}" y="{y + 6}" width="{max(b - a, 2):.1f}"'
                        f' height="{row_h - 12}" fill="{colour}"><title>on site '
                        f'{esc(v["days_on_site"] if v["days_on_site"] is not None else "…")}'
                        f' days</title></rect>')
        marks = []
        if v["feedback_at"]:
            marks.append((_t(v["feedback_at"]), "◆", INK, "feedback"))
        if v["report_due"]:
            marks.append((_t(v["report_due"]), "|", BAD, "report due"))
        if v["report_at"]:
            marks.append((_t(v["report_at"]), "●", OK, "report received"))
        for i, t in enumerate(_spot_checks(findings_by_unit.get(u["unit_id"], []),
                                           v["visit_id"])):
            marks.append((t, "▲" if i == 0 else "△", OPEN,
                          "spot check" if i == 0 else "look-back 回头看"))
        for t, glyph, colour, what in marks:
            body.append(f'<text class="mark" x="{axis.x(t):.1f}" y="{y + 14}" fill="{colour}" '
                        f'text-anchor="middle">{glyph}<title>{esc(what)} {esc(t.isoformat())}'
                        f'</title></text>')
        body.append("</g>")
    legend = top + row_h * len(rows) + 34
    body.append(_text(left, legend, "planned ▭  on site ▬  feedback ◆  report due |  report "
                      "received ●  spot check ▲  look-back 回头看 △", fill=GREY))
    return _svg(w, h, f"visits of campaign {c['campaign_id']}", body,
                f"{len(rows)} units: planned against actual days on site, feedback, reports, "
                "spot checks and look-backs")


# -- open findings and escalations over time (burn-down) ---------------------------------------
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _finding_changes(f: dict) -> list[tuple[datetime, str, int]]:
    out, is_open = [(_t(f["recorded_at"]), f["category"], 1)], True
    for s in f["history"]:
        closes = s["status"] in ("rectified", "confirmed")
        if is_open and closes or not is_open and s["status"] == "reopened":
            is_open = not is_open
            out.append((_t(s["time"]), f["category"], 1 if is_open else -1))
    return out


def _escalation_changes(e: dict) -> list[tuple[datetime, str, int]]:
    out, holder = [], None
    for s in e["history"]:
        if s["what"] in ("raised", "escalated") and s["authority"] != holder:
            if holder is not None:
                out.append((_t(s["time"]), holder, -1))
            holder = s["authority"]
            out.append((_t(s["time"]), holder, 1))
    if holder is not None and e["closed_at"]:
        out.append((_t(e["closed_at"]), holder, -1))
    return out


def _lines(changes: list[tuple[datetime, str, int]], axis: Axis, top: float, bottom: float,
           labels: dict[str, str]) -> list[str]:
    series: dict[str, list[tuple[datetime, int]]] = {}
    counts: dict[str, int] = {}
    for t, key, delta in sorted(changes, key=lambda c: c[0]):
        counts[key] = counts.get(key, 0) + delta
        series.setdefault(key, []).append((t, counts[key]))
    peak = max((n for points in series.values() for _, n in points), default=1) or 1
    y = lambda n: bottom - (bottom - top) * n / peak  # noqa: E731
    body = [_text(axis.x0 - 4, top + 4, str(peak), fill=GREY, anchor="end"),
            _text(axis.x0 - 4, bottom, "0", fill=GREY, anchor="end")]
    for i, key in enumerate(sorted(series)):
        colour = PALETTE[i % len(PALETTE)]
        points, last = [f"{axis.x0:.1f},{bottom:.1f}"], 0
        for t, n in series[key]:
            x = axis.x(t)
            points += [f"{x:.1f},{y(last):.1f}", f"{x:.1f},{y(n):.1f}"]
            last = n
        points.append(f"{axis.x1:.1f},{y(last):.1f}")
        body.append(f'<polyline class="series" data-key="{esc(key)}" points="{" ".join(points)}"'
                    f' fill="none" stroke="{colour}" stroke-width="1.5"/>')
        body.append(_text(axis.x1 + 6, bottom - 14 * i, f"{labels.get(key, key)} {last}",
                          fill=colour))
    return body


def burndown(findings: list[dict], escalations: list[dict], campaign_id: str,
             labels: dict[str, str]) -> str:
    """Open findings by category and open escalations by their current authority, over
    campaign time: two panels on one time axis."""
    f_changes = [c for f in findings for c in _finding_changes(f)]
    e_changes = [c for e in escalations for c in _escalation_changes(e)]
    times = [t for t, _, _ in f_changes + e_changes]
    if not times:
        return _svg(300, 40, f"open findings and escalations of {campaign_id}",
                    [_text(4, 24, "no findings yet", fill=GREY)])
    w, left, right = 900, 40, 260
    axis = Axis(min(times), max(times), left, w - right)
    body = [_text(left, 14, "未整改问题 open findings, by category", extra=' font-weight="600"')]
    body += axis.ticks(20, 160)
    body += _lines(f_changes, axis, 24, 160, labels)
    body.append(_text(left, 204, "未办结督办 open escalations, by current authority",
                      extra=' font-weight="600"'))
    body += axis.ticks(210, 350)
    body += _lines(e_changes, axis, 214, 350, labels)
    return _svg(w, 380, f"open findings and escalations of {campaign_id} over time", body,
                f"{len(findings)} findings and {len(escalations)} escalations")


# -- the rectification ledger over time ------------------------------------------------------
def _ledger_changes(f: dict) -> list[tuple[datetime, str, int]]:
    """A finding's ledger steps as changes of each state's count (one leaves, one comes)."""
    out, before = [], None
    for step in f["steps"]:
        if step["ledger"] == before:
            continue  # set again (a second report's "pending"): no change of state
        t = _t(step["time"])
        if before is not None:
            out.append((t, before, -1))
        out.append((t, step["ledger"], 1))
        before = step["ledger"]
    return out


def ledger_states(u: dict, labels: dict[str, str]) -> str:
    """A unit's findings by ledger state (open, claimed, pending, verified, reopened,
    withdrawn) over campaign time, each state a line."""
    changes = [c for f in u["findings"] for c in _ledger_changes(f)]
    if not changes:
        return _svg(300, 40, f"the ledger of {u['unit_id']}",
                    [_text(4, 24, "no findings yet", fill=GREY)])
    times = [t for t, _, _ in changes]
    w, left, right = 900, 40, 220
    axis = Axis(min(times), max(times), left, w - right)
    body = [_text(left, 14, "整改台账 findings by ledger state", extra=' font-weight="600"')]
    body += axis.ticks(20, 180)
    body += _lines(changes, axis, 24, 180, labels)
    return _svg(w, 210, f"the ledger of {u['unit_id']} over time", body,
                f"{len(u['findings'])} findings")

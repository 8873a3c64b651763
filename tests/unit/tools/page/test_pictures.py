"""The operator page's pictures, drawn from the seed campaign's views: each is well-formed
SVG, shows what the views say (counted back out of the drawing), and writes every text from
an event as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from inspections.page import pictures
from kernel.vocabulary import AUTHORITIES, CATEGORIES

NS = {"s": "http://www.w3.org/2000/svg"}


@pytest.fixture(scope="module")
def seed():
    from tests.unit import seeded

    breaches = [e for events in seeded.pipeline().derived_by_topic().values() for e in events
                if e["type"] == "deadline.breached"]
    return seeded.views(), breaches


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("s:title", NS).text and root.find("s:desc", NS).text
    return root


def _campaign(seed):
    return next(iter(seed[0]["campaigns"].values()))


def test_coverage_steps_up_once_a_unit_inspected_in_time(seed):
    c = _campaign(seed)
    root = _svg(pictures.coverage_steps(c))
    (line,) = root.findall(".//s:polyline[@class='coverage']", NS)
    points = line.get("points").split()
    assert len(points) == 2 + 2 * c["units_inspected"]
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys, reverse=True)  # it only ever goes up
    assert f"{c['units_inspected']} of {c['units_planned']} units" in ET.tostring(
        root, encoding="unicode")


def test_coverage_bars_one_row_a_unit_one_bar_a_figure(seed):
    c = _campaign(seed)
    root = _svg(pictures.coverage_bars(c))
    rows = root.findall(".//s:g[@class='unit']", NS)
    assert [g.get("data-unit") for g in rows] == [u["unit_id"] for u in c["units"] if u["visits"]]
    for g, u in zip(rows, (u for u in c["units"] if u["visits"])):
        v = u["visits"][-1]
        bars = g.findall("s:rect", NS)
        assert len(bars) == len(v["coverage"]) + (v["days_on_site"] is not None)
        short = {b for b in v["breaches"] if b.endswith("_short")}
        assert sum(b.get("fill") == pictures.BAD for b in bars) == len(short)


def test_the_gantt_has_a_row_a_unit_and_every_spot_check(seed):
    views, _ = seed
    c = _campaign(seed)
    findings = {}
    for f in views["findings"].values():
        findings.setdefault(f["unit_id"], []).append(f)
    root = _svg(pictures.gantt(c, findings, None))
    rows = root.findall(".//s:g[@class='visit']", NS)
    assert len(rows) == sum(1 for u in c["units"] if u["visits"])
    checks = sum(len(pictures._spot_checks(findings.get(u["unit_id"], []), v["visit_id"]))
                 for u in c["units"] for v in u["visits"][-1:])
    marks = [m.text for m in root.iter("{http://www.w3.org/2000/svg}text")
             if m.get("class") == "mark"]
    assert checks > 0 and sum(m in ("▲", "△") for m in marks) == checks
    assert marks.count("◆") == sum(1 for u in c["units"] for v in u["visits"][-1:]
                                   if v["feedback_at"])


def test_the_burndown_ends_at_what_is_open_now(seed):
    views, _ = seed
    findings, escalations = list(views["findings"].values()), list(views["escalations"].values())
    root = _svg(pictures.burndown(findings, escalations, "c", {}))
    ends = {}
    for line in root.findall(".//s:polyline[@class='series']", NS):
        last_y = float(line.get("points").split()[-1].split(",")[1])
        ends[line.get("data-key")] = last_y
    text = ET.tostring(root, encoding="unicode")
    still_open = Counter(f["category"] for f in findings
                         if f["status"] not in ("rectified", "confirmed"))
    for category in CATEGORIES:
        if category in ends:
            assert f"{category} {still_open.get(category, 0)}<" in text
    open_escalations = Counter(e["authority"] for e in escalations if e["status"] != "closed")
    for authority in AUTHORITIES:
        if authority in ends:
            assert f"{authority} {open_escalations.get(authority, 0)}<" in text


def test_a_ladder_has_a_box_a_level_and_marks_the_misses(seed):
    views, breaches = seed
    top = next(e for e in views["escalations"].values() if e["status"] == "missed_at_top")
    mine = [{"kind": b["data"]["kind"], "due": b["data"]["due"], "subject_id":
             b["data"]["subject_id"]} for b in breaches
            if b["data"]["subject_id"].startswith(top["escalation_id"])]
    root = _svg(pictures.ladder(top, mine))
    levels = root.findall(".//s:g[@class='level']", NS)
    assert [int(g.get("data-level")) for g in levels] == sorted({s["level"]
                                                                 for s in top["history"]})
    assert all(g.find("s:rect", NS).get("stroke") == pictures.BAD for g in levels)
    assert "escalation_unacknowledged" in ET.tostring(root, encoding="unicode")


def test_texts_from_events_stay_text_in_every_picture(seed):
    mark = '"><script>x</script><i data-x>'
    c = _campaign(seed)
    poisoned = {**c, "campaign_id": mark, "units": [
        {**u, "name": mark + u["name"], "unit_id": mark + u["unit_id"],
         "visits": [{**v, "visit_id": mark} for v in u["visits"]]} for u in c["units"]]}
    e = next(iter(seed[0]["escalations"].values()))
    e = {**e, "escalation_id": mark, "history": [{**s, "event_id": mark} for s in e["history"]]}
    for svg in (pictures.coverage_steps(poisoned), pictures.coverage_bars(poisoned),
                pictures.gantt(poisoned, {}, None), pictures.ladder(e, []),
                pictures.burndown([], [e], mark, {})):
        _svg(svg)
        assert "<script>" not in svg and "<i data-x>" not in svg


def test_the_ledger_over_time_ends_at_each_states_count(seed):
    views, _ = seed
    for unit_id, ledger in views["ledgers"].items():
        root = _svg(pictures.ledger_states(ledger, {}))
        text = ET.tostring(root, encoding="unicode")
        now = Counter(f["ledger"] for f in ledger["findings"])
        keys = {line.get("data-key") for line in
                root.findall(".//s:polyline[@class='series']", NS)}
        assert keys == {s["ledger"] for f in ledger["findings"] for s in f["steps"]}, unit_id
        for state in keys:
            assert f"{state} {now.get(state, 0)}<" in text, (unit_id, state)

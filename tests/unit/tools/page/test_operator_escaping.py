"""The operator page escapes every text that came from an event: the seed campaign's views,
every string in them (but times and the codes the page looks up) prefixed with markup that
would break out of an attribute and open a tag, rendered through the page's templates."""

from __future__ import annotations

from datetime import datetime

from inspections.page import board as page_board
from inspections.page import server as operator
from inspections.page import sources as page_sources
from runtime.config.settings import Settings

MARK = '"><i data-x>'


def _views():
    from kernel.codec import dumps
    from runtime.config import topics
    from tests.unit import seeded

    settings = Settings()
    breaches = page_sources.breaches(settings)
    for event in seeded.pipeline().derived_by_topic()[topics.name(settings, topics.BREACHES)]:
        breaches._add(dumps(event))
    return seeded.views(), breaches.all()


CODES = {*operator.AUTHORITIES, *operator.KINDS, *operator.CATEGORIES, *operator.VISIT_STATES}


def _is_code_or_time(text: str) -> bool:
    if text in CODES:
        return True
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return False


def _poisoned(value):
    if isinstance(value, dict):
        return {k: _poisoned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_poisoned(v) for v in value]
    if isinstance(value, str) and not _is_code_or_time(value):
        return MARK + value
    return value


def test_every_text_from_an_event_is_written_as_text():
    views, breaches = (_poisoned(part) for part in _views())
    env = operator.templates()
    campaign = next(iter(views["campaigns"].values()))
    escalations = list(views["escalations"].values())
    pages = [env.get_template("board.html").render(campaigns=[campaign["campaign_id"]],
                                                    rejected=page_board.rejected_board([]), **(
        page_board.board(campaign, escalations, breaches, {"kind": "", "unit_id": "",
                                                         "service": ""})))]
    for unit_id, unit in views["units"].items():
        pages.append(env.get_template("unit.html").render(
            unit_id=unit_id, unit=unit, category="",
            findings=[f for f in views["findings"].values() if f["unit_id"] == unit_id],
            escalations=[e for e in escalations if e["unit_id"] == unit_id],
            breaches=[b for b in breaches if b["unit_id"] == unit_id]))
    html = "".join(pages)
    assert MARK not in html and "<i data-x>" not in html
    shown = html.count("&#34;&gt;&lt;i data-x&gt;")
    assert shown > 500, shown  # the poisoned texts are on the pages, as text


def test_rejected_records_and_what_is_due_are_written_as_text():
    """The odd input's 300 bad records (broken JSON, markup, odd bytes) as the rejected pages
    show them, and the due list with poisoned texts."""
    from inspections.asking.due import from_memory
    from inspections.audit.replay import Pipeline
    from kernel.codec import dumps
    from runtime.config import topics
    from tests.golden.inputs import odd

    settings = Settings()
    pipeline = Pipeline(settings).run(odd())
    rejected = page_sources.rejections(settings)
    raws = [dumps(e) for e in pipeline.derived_by_topic()[topics.name(settings,
                                                                     topics.REJECTED)]]
    for raw in raws:
        rejected._add(raw)
    rows = rejected.all()
    assert len(rows) >= 300
    env = operator.templates()
    html = env.get_template("rejected.html").render(
        filters={"cause": "", "since": ""}, rejected=rows, causes=["schema"], total=len(rows))
    # One record's page: the summary the page keeps, and its bytes read again.
    whole = [page_sources.rejected_detail(raw) for raw in raws]
    html += "".join(env.get_template("rejected_one.html").render(r=r) for r in whole)
    rows = whole
    marked = [_poisoned(r) for r in rows]
    html += "".join(env.get_template("rejected_one.html").render(r=r) for r in marked)
    due = _poisoned(from_memory(pipeline.memory, settings))
    html += env.get_template("due.html").render(filters={"unit": MARK}, **due)
    assert MARK not in html and "<i data-x>" not in html
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert html.count("&#34;&gt;&lt;i data-x&gt;") > 300


def test_detail_pages_and_the_ladder_write_every_text_as_text():
    from inspections.page import pictures

    views, breaches = (_poisoned(part) for part in _views())
    env = operator.templates()
    html = []
    for e in views["escalations"].values():
        mine = [b for b in breaches if b["subject_id"].startswith(e["escalation_id"])]
        html.append(env.get_template("escalation.html").render(
            e=e, breaches=mine, ladder=pictures.ladder(e, mine)))
    for f in views["findings"].values():
        html.append(env.get_template("finding.html").render(f=f, escalations=[], breaches=[]))
    for unit in views["units"].values():
        for v in unit["visits"]:
            html.append(env.get_template("visit.html").render(
                v={"unit_id": unit["unit_id"], **v}, findings=[], breaches=[]))
    html.append(env.get_template("search.html").render(q=MARK, hits=[]))
    text = "".join(html)
    assert MARK not in text and "<i data-x>" not in text
    assert text.count("&#34;&gt;&lt;i data-x&gt;") + text.count("&quot;&gt;&lt;i data-x&gt;") \
        > 1000


def test_the_policy_page_writes_the_adopted_policies_texts_as_text():
    """The seed campaign's adopted policy (its name, source and note came from an event) as
    a worker's ``/policy`` says it, poisoned, through the Policy view."""
    from runtime.config import policy
    from runtime.faust_runner import policy_watch
    from tests.unit import seeded

    [adopted, *_] = seeded.pipeline().memory.stores("escalation")["policies"].values()
    said = policy_watch.answer(adopted, policy.load(Settings()))
    assert said["adopted"]["policy_id"] == "2026-10 第二批 second batch"
    assert said["starting"]["differs"]  # the seed's defaults are the workers' own
    html = operator.templates().get_template("policy.html").render(
        p=_poisoned(said), differ=False, running={})
    assert MARK not in html and "<i data-x>" not in html
    assert html.count("&#34;&gt;&lt;i data-x&gt;") >= 3  # name, source, note: as text
    assert 'id="history"' in html and 'id="starting-differs"' in html

"""The declared views answered in memory (``runtime.memory_runner.reading``): what a replay writes
of a view is what the view answers for that id, a bad request is refused naming what is wrong, and
the declarations hold together (a written view names its id, rows name a unit view)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kernel.topology import SIDE, UNIT
from runtime.config.settings import Settings
from runtime.memory_runner.reading import Answering, matching, views_of, written
from services import SYSTEM
from tests.unit import seeded


@pytest.fixture(scope="module")
def answering() -> Answering:
    return Answering(seeded.pipeline().memory, Settings())


def test_what_a_replay_writes_of_each_view_is_what_the_view_answers_for_its_id(answering):
    written_views = views_of(seeded.pipeline().memory, Settings())
    checked = 0
    for service in SYSTEM:
        for view in written(service):
            found = written_views[view.file]
            assert found, f"the seed campaign has no {view.file}"
            for ident, expected in found.items():
                path = view.path.replace("{" + view.params[-1] + "}", quote(ident, safe=""))
                # every row of a paged view on one page
                status, answer = answering.get(service.name, f"{path}?limit=5000")
                assert (status, answer) == (200, expected), (service.name, path)
                checked += 1
    assert checked > 100


def test_a_bad_request_is_refused_and_a_missing_view_named(answering):
    status, answer = answering.get("escalation", "/escalations?level=x")
    assert status == 400 and "level" in answer["error"]
    status, answer = answering.get("findings", "/units/u/findings?status=nonsense")
    assert status == 400 and "status must be one of" in answer["error"]
    assert answering.get("findings", "/findings/no-such") == (
        404, {"error": "finding no-such not found"})
    assert answering.get("scheduler", "/campaigns/none") == (
        404, {"error": "campaign none not found"})
    status, answer = answering.get("escalation", "/no/such/page")
    assert status == 404 and "no view" in answer["error"]


def test_a_list_view_pages_and_the_pages_make_the_whole(answering):
    findings = views_of(seeded.pipeline().memory, Settings())["findings"].values()
    unit_id = max({f["unit_id"] for f in findings},
                  key=lambda u: sum(f["unit_id"] == u for f in findings))
    status, whole = answering.get("findings", f"/units/{unit_id}/findings")
    assert status == 200 and whole["next_cursor"] is None
    pages, cursor = [], None
    while True:
        query = "limit=3" + (f"&cursor={quote(cursor)}" if cursor else "")
        status, page = answering.get("findings", f"/units/{unit_id}/findings?{query}")
        assert status == 200 and len(page["findings"]) <= 3
        pages += page["findings"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(pages) > 3 and pages == whole["findings"]


def test_each_declaration_holds_together():
    for service in SYSTEM:
        names = [v.name for v in service.views]
        paths = [v.path for v in service.views]
        assert len(set(names)) == len(names) and len(set(paths)) == len(paths), service.name
        for view in service.views:
            assert matching(service, view.path.replace("{", "").replace("}", ""))[0] is view
            if view.scope == UNIT:
                assert "unit_id" in view.params, view.path
            if view.rows is not None:
                assert service.view(view.rows).scope == UNIT, view.name
            if view.file is not None:
                assert view.each is not None and view.params, view.name
                assert view.scope != SIDE or view.whole is not None or view.rows is None

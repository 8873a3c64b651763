"""Notices to the people who must act, as Alertmanager alerts: one per obligation and step
(``kernel.vocabulary.NOTICE_STEPS``), labelled so that the routes ``inspections notices
config`` makes from the directory send it to its unit's authority, or the city's.

- ``assigned`` (交办): an escalation raised, or taken a level up: it is now its authority's;
- ``reminder`` (到期提醒): an open obligation due within the policy's ``reminder_before_h``;
- ``breached`` (逾期): a deadline missed (``notify.alert``, the same labels).

The texts are Chinese first, the English after (``summary``, ``summary_en``, ``subject`` for
an e-mail's subject line). Alertmanager sends each group once: the routes group by every label
and repeat after a year, so an alert posted again (after a restart of notify) is the same
notice, never a second one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from inspections.alerting.directory import Directory, authority_label
from kernel.vocabulary import ACTION_NAMES, OBLIGATION_KINDS, OWED_BY

ASSIGNED, REMINDER = "ObligationAssigned", "ObligationDueSoon"


def local(text: str, timezone: str) -> str:
    """A time as people there read it: ``2026年4月18日 09:00``."""
    t = datetime.fromisoformat(text).astimezone(ZoneInfo(timezone))
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def remaining(seconds: int) -> tuple[str, str]:
    """``剩余 3 天 4 小时`` / ``3 d 4 h left``."""
    days, rest = divmod(max(seconds, 0), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"剩余 {days} 天 {hours} 小时", f"{days} d {hours} h left"
    return f"剩余 {hours} 小时 {minutes} 分钟", f"{hours} h {minutes} min left"


def _action(action: str) -> tuple[str, str]:
    zh, _, en = ACTION_NAMES.get(action, action).partition(" ")
    return zh, en or zh


def assigned(event: dict, directory: Directory, timezone: str, page_url: str) -> dict:
    """The notice of an ``escalation.raised`` or ``escalation.escalated`` (as the contract
    has it): the escalation is now its authority's."""
    d = event["data"]
    unit = directory.unit_name(d["unit_id"])
    who_zh, who_en = authority_label(d["authority"])
    what_zh, what_en = _action(d["action"])
    due = local(d["due"], timezone)
    raised = event["type"] == "escalation.raised"
    step_zh = "督办交办" if raised else "督办升级"
    link = f"{page_url.rstrip('/')}/escalations/{d['escalation_id']}"
    return {
        "labels": {"alertname": ASSIGNED, "notice": "assigned", "unit": d["unit_id"],
                   "authority": d["authority"], "escalation_id": d["escalation_id"],
                   "level": str(d["level"]), "severity": "warning"},
        "annotations": {
            "subject": f"【{step_zh}】{unit}：{what_zh}，由{who_zh}办理，期限 {due}",
            "summary": (f"{unit}的问题 {d['finding_id']} 需要{what_zh}，"
                        + ("现交由" if raised else f"已逾期未办，升至第 {d['level']} 级，交由")
                        + f"{who_zh}办理，请于 {due} 前办理。"),
            "summary_en": (f"{d['unit_id']}: finding {d['finding_id']} needs someone to "
                           f"{what_en}; " + ("it is now" if raised else
                                             f"missed below, taken to level {d['level']}: now")
                           + f" the {who_en}'s, due {d['due']}."),
            "link": link,
        },
        "startsAt": event["time"],
        "endsAt": d["due"],  # the notice holds until its due time; then the step is another
    }


def reminder(item: dict, directory: Directory, timezone: str, page_url: str) -> dict | None:
    """The reminder of an open obligation (an item of what is due, ``kernel.due``) close to
    its due time; None for one nobody owes."""
    authority = item["authority"] or OWED_BY.get(item["kind"])
    if authority is None:
        return None
    unit = directory.unit_name(item["unit_id"])
    who_zh, who_en = authority_label(authority)
    kind_zh, _, kind_en = OBLIGATION_KINDS.get(item["kind"], item["kind"]).partition(" ")
    left_zh, left_en = remaining(item["remaining_s"] or 0)
    due = local(item["due"], timezone)
    labels = {"alertname": REMINDER, "notice": "reminder", "unit": item["unit_id"],
              "authority": authority, "kind": item["kind"], "subject_id": item["subject_id"],
              "severity": "warning"}
    if item.get("level") is not None:
        labels["level"] = str(item["level"])
    if item["kind"] == "escalation":
        labels["escalation_id"] = item["subject_id"]
        link = f"{page_url.rstrip('/')}/escalations/{item['subject_id']}"
    else:
        link = f"{page_url.rstrip('/')}/units/{item['unit_id']}"
    return {
        "labels": labels,
        "annotations": {
            "subject": f"【到期提醒】{unit}：{kind_zh} {item['subject_id']}，{left_zh}（{due}）",
            "summary": f"{who_zh}：{unit}的{kind_zh} {item['subject_id']} 将于 {due} 到期，"
                       f"{left_zh}。{item.get('detail') or ''}",
            "summary_en": f"{who_en}: {kind_en or item['kind']} {item['subject_id']} at "
                          f"{item['unit_id']} falls due {item['due']}, {left_en}.",
            "link": link,
        },
        "endsAt": item["due"],
    }


def due_soon(items: list[dict], within: timedelta) -> list[dict]:
    """The items of what is due that a reminder is for: due within ``within`` and not yet past."""
    limit = within.total_seconds()
    return [i for i in items if i.get("remaining_s") is not None
            and 0 < i["remaining_s"] <= limit]

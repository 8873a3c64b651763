"""``inspections notify``: each breach, as it lands on ``inspections.breaches``, posted to
Alertmanager as an alert of its own, labelled with its unit, the authority that missed it and
the escalation it belongs to, so that Alertmanager's routes can send it to whoever must act
(``deploy/alertmanager/alertmanager.yml``; a webhook receiver example beside it).

A consumer group of its own (``<prefix>-notify``) keeps its place: an offset is committed only
after Alertmanager took the alerts, so a breach is posted at least once, and a second post of
the same alert (the same labels) is the same alert to Alertmanager. Alerts end after
``INSPECTIONS_ALERT_HOLD_S`` unless posted again: a breach is an event, not a state.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from inspections.asking import get
from kernel import ids
from kernel.vocabulary import NEXT_AUTHORITY
from runtime import kafka, logs, policy, topics
from runtime.settings import Settings

ALERT = "DeadlineBreached"


def alert(breach: dict, authority: str | None, hold_s: float, now: datetime,
          ladder: dict[str, str | None] = NEXT_AUTHORITY) -> dict:
    """The Alertmanager alert of one ``deadline.breached`` event (critical at the top of
    ``ladder``, the city's policy's)."""
    data = breach["data"]
    eid = ids.escalation_of_deadline(data["deadline_id"]) if ids.level_of_deadline(
        data["deadline_id"]) else None
    top = authority is not None and ladder.get(authority, "") is None
    labels = {"alertname": ALERT, "kind": data["kind"], "unit": data["unit_id"],
              "service": breach["source"].rsplit(":", 1)[-1], "breach_id": breach["id"],
              "severity": "critical" if top else "warning"}
    if eid:
        labels["escalation_id"] = eid
    if authority:
        labels["authority"] = authority
    return {
        "labels": labels,
        "annotations": {
            "summary": f"{data['kind']} at {data['unit_id']}"
                       + (f" ({authority} missed {eid})" if eid and authority else ""),
            "description": (f"{data['subject_id']}: due {data['due']}, breached "
                            f"{data['breached_at']}. {data.get('detail') or ''} "
                            f"Trail: inspections audit trail {breach['id']}").strip(),
            "due": data["due"]},
        "startsAt": breach["time"],
        "endsAt": (now + timedelta(seconds=hold_s)).isoformat(),
    }


def authority_of(settings: Settings, deadline_id: str) -> str | None:
    """The authority of the level an escalation's breach missed, from the register (a
    RuntimeError when the escalation service does not answer: the breach waits)."""
    level = ids.level_of_deadline(deadline_id)
    if level is None:
        return None
    found = get(settings, "escalation",
                f"/escalations/{ids.escalation_of_deadline(deadline_id)}")
    steps = [s for s in (found or {}).get("history", []) if s["level"] == level]
    return steps[0]["authority"] if steps else None


def post(settings: Settings, alerts: list[dict]) -> None:
    url = settings.alertmanager_url.rstrip("/") + "/api/v2/alerts"
    request = urllib.request.Request(url, data=json.dumps(alerts).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15):
            return
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"Alertmanager at {url} refused the alerts: HTTP {exc.code} "
                           f"{exc.read()[:300]!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RuntimeError(f"Alertmanager did not answer at {url} "
                           f"({getattr(exc, 'reason', exc)}): is it running? "
                           "(INSPECTIONS_ALERTMANAGER_URL)") from None


def run(settings: Settings, once: bool = False,
        say: Callable[[str], None] = lambda line: None) -> int:
    """Forward breaches until stopped (``once``: until the topic's end, then return).
    Returns how many alerts were posted."""
    from kafka import KafkaConsumer

    log = logs.get(__name__)
    consumer = KafkaConsumer(
        topics.name(settings, topics.BREACHES), group_id=settings.app_id("notify"),
        enable_auto_commit=False, auto_offset_reset="earliest",
        **kafka.common(settings, "inspections-notify"))
    sent = 0
    ladder = policy.load(settings).ladder
    try:
        while True:
            batch = [r for records in consumer.poll(timeout_ms=1000).values()
                     for r in records]
            if not batch:
                if once and _at_end(consumer):
                    return sent
                continue
            now = datetime.now(timezone.utc)
            alerts = []
            for record in batch:
                try:
                    breach = json.loads(record.value)
                    deadline_id = breach["data"]["deadline_id"]
                except (ValueError, KeyError, TypeError):
                    log.warning("not a breach, skipped", offset=record.offset)
                    continue
                alerts.append(alert(breach, _authority(settings, deadline_id),
                                    settings.alert_hold_s, now, ladder))
            while True:
                try:
                    if alerts:
                        post(settings, alerts)
                    break
                except RuntimeError as exc:  # Alertmanager away: wait, keep the place
                    log.warning("alerts not posted, retrying", error=str(exc))
                    time.sleep(5)
            consumer.commit()
            sent += len(alerts)
            say(f"posted {len(alerts)} alerts ({sent} in all)")
    finally:
        consumer.close()


def _authority(settings: Settings, deadline_id: str) -> str | None:
    while True:
        try:
            return authority_of(settings, deadline_id)
        except RuntimeError as exc:
            logs.get(__name__).warning("authority not known yet, retrying", error=str(exc))
            time.sleep(5)


def _at_end(consumer) -> bool:
    assigned = consumer.assignment()
    if not assigned:
        return False
    ends = consumer.end_offsets(list(assigned))
    return all(consumer.position(tp) >= ends[tp] for tp in assigned)

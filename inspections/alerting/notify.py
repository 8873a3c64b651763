"""``inspections notify``: each breach, as it lands on ``inspections.breaches``, posted to
Alertmanager as an alert of its own, labelled with its unit, the authority that missed it and
the escalation it belongs to, so that Alertmanager's routes can send it to whoever must act
(``deploy/alertmanager/alertmanager.yml``; a webhook receiver example beside it).

It is the one source of a breach's notification: Prometheus's rules say nothing per breach
(their ``BreachesSurge`` is about how many, not which). A breach is an event, not a state:
nobody resolves it, so its alert must never come back as "resolved". Alertmanager ends every
alert at its ``endsAt`` (here ``INSPECTIONS_ALERT_HOLD_S`` after it was posted: how long a
second post of the same breach is the same alert to it), and a receiver with
``send_resolved: true`` would then be told it resolved; the breaches' route has a receiver of
its own that sends no resolved notification, and a repeat interval longer than any hold, so
each breach is sent once.

A consumer group of its own (``<prefix>-notify``) keeps its place: an offset is committed only
after Alertmanager took the alerts, so a breach is posted at least once. A record that is not
a ``deadline.breached`` of the contract's shape (any bytes can land on the topic) is skipped,
counted and logged with its place, and its offset committed with the rest: it never stops the
command or makes it read the same record again and again. So is an alert Alertmanager
refuses. Only an Alertmanager or escalation service that does not answer is waited for.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from kernel import ids
from kernel.vocabulary import AUTHORITIES, BREACH_NAMES, NEXT_AUTHORITY
from runtime.config import policy, topics
from runtime.config.settings import Settings
from runtime.plumbing import kafka, logs, webauth

ALERT = "DeadlineBreached"
# An escalation's deadline id ends with its level (``<escalation id>:L<n>``): ASCII digits
# only (``str.isdigit`` takes "²", which ``int`` refuses).
_LEVEL = re.compile(r".+:L([0-9]{1,6})", re.S)


class Unavailable(RuntimeError):
    """A service that did not answer (or said it cannot yet): wait and ask again."""


class Refused(RuntimeError):
    """Alertmanager answered and refused what it was sent: sending it again changes nothing."""


def breach_of(raw: bytes | None) -> tuple[dict | None, str]:
    """The breach a record holds, checked against the contract's ``deadline.breached`` (every
    field notify reads, and their types), or None and why not."""
    from pydantic import ValidationError

    from schemas.derived import DeadlineBreached

    if raw is None:
        return None, "no value (a tombstone)"
    try:
        DeadlineBreached.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the record"
        return None, f"not a deadline.breached: {where}: {first['msg']}"[:300]
    return json.loads(raw), ""


def level_of(deadline_id: str) -> int | None:
    """The level an escalation's deadline belongs to; None for any other deadline."""
    found = _LEVEL.fullmatch(deadline_id)
    return int(found.group(1)) if found else None


def alert(breach: dict, authority: str | None, hold_s: float, now: datetime,
          ladder: dict[str, str | None] = NEXT_AUTHORITY, unit_name: str | None = None,
          timezone_name: str = "Asia/Shanghai") -> dict:
    """The Alertmanager alert of one ``deadline.breached`` event (critical at the top of
    ``ladder``, the city's policy's): the notice of the step ``breached``, in Chinese first.
    ``breach`` as ``breach_of`` checked it."""
    from inspections.alerting.directory import authority_label
    from inspections.alerting.notices import local

    data = breach["data"]
    eid = (ids.escalation_of_deadline(data["deadline_id"])
           if level_of(data["deadline_id"]) is not None else None)
    top = authority is not None and ladder.get(authority, "") is None
    labels = {"alertname": ALERT, "notice": "breached", "kind": data["kind"],
              "unit": data["unit_id"], "service": breach["source"].rsplit(":", 1)[-1],
              "breach_id": breach["id"], "severity": "critical" if top else "warning"}
    if eid:
        labels["escalation_id"] = eid
    if authority:
        labels["authority"] = authority
    kind_zh = BREACH_NAMES.get(data["kind"], data["kind"]).partition(" ")[0]
    unit = unit_name or data["unit_id"]
    who = f"，{authority_label(authority)[0]}未按期办理" if eid and authority else ""
    return {
        "labels": labels,
        "annotations": {
            "subject": f"【逾期】{unit}：{kind_zh}{who}（期限 "
                       f"{local(data['due'], timezone_name)}）",
            "summary": f"{unit} {data['subject_id']}：{kind_zh}{who}，期限 "
                       f"{local(data['due'], timezone_name)}，"
                       f"{local(data['breached_at'], timezone_name)} 判定逾期。",
            "summary_en": f"{data['kind']} at {data['unit_id']}"
                          + (f" ({authority} missed {eid})" if eid and authority else ""),
            "description": (f"{data['subject_id']}: due {data['due']}, breached "
                            f"{data['breached_at']}. {data.get('detail') or ''} "
                            f"Trail: inspections audit trail {breach['id']}").strip(),
            "due": data["due"]},
        "startsAt": breach["time"],
        # How long Alertmanager holds it (a second post within it is the same alert); the
        # breaches' receiver sends no "resolved" when it ends: nobody resolved anything.
        "endsAt": (now + timedelta(seconds=hold_s)).isoformat(),
    }


def authority_of(settings: Settings, deadline_id: str) -> str | None:
    """The authority of the level an escalation's breach missed, from the register; None
    when it is no escalation's, or the register has no such level. ``Unavailable`` when the
    escalation service does not answer (the breach waits)."""
    from inspections.asking.client import service_url

    level = level_of(deadline_id)
    if level is None:
        return None
    eid = ids.escalation_of_deadline(deadline_id)
    # One path segment, whatever the id holds ("/", "..", "?"): never another page.
    url = f"{service_url(settings, 'escalation')}/escalations/{urllib.parse.quote(eid, safe='')}"
    request = urllib.request.Request(url, headers=webauth.headers(settings))
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            body = answer.read(4 * 2**20)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403, 502, 503, 504):  # a token to fix, a worker not ready
            raise Unavailable(f"the escalation service answered HTTP {exc.code} at {url}") \
                from None
        return None  # 404: no such escalation; another refusal: asking again changes nothing
    except (urllib.error.URLError, OSError) as exc:
        raise Unavailable(f"the escalation service did not answer at {url} "
                          f"({getattr(exc, 'reason', exc)}): is its worker running?") from None
    try:
        found = json.loads(body)
    except ValueError:
        return None
    history = found.get("history") if isinstance(found, dict) else None
    for step in history if isinstance(history, list) else ():
        if isinstance(step, dict) and step.get("level") == level:
            authority = step.get("authority")
            return authority if authority in AUTHORITIES else None
    return None


def post(settings: Settings, alerts: list[dict]) -> None:
    url = settings.alertmanager_url.rstrip("/") + "/api/v2/alerts"
    request = urllib.request.Request(url, data=json.dumps(alerts).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15):
            return
    except urllib.error.HTTPError as exc:
        said = exc.read()[:300]
        if 400 <= exc.code < 500 and exc.code not in (401, 403, 408, 429):
            raise Refused(f"Alertmanager at {url} refused the alerts: HTTP {exc.code} "
                          f"{said!r}") from None
        raise Unavailable(f"Alertmanager at {url} answered HTTP {exc.code} {said!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Unavailable(f"Alertmanager did not answer at {url} "
                          f"({getattr(exc, 'reason', exc)}): is it running? "
                          "(INSPECTIONS_ALERTMANAGER_URL)") from None


def deliver(settings: Settings, alerts: list[dict], log) -> int:
    """Post ``alerts``; returns how many Alertmanager took. An Alertmanager away is waited
    for; alerts it refuses are posted one by one, and each it still refuses is logged and
    left (its breach stays on the topic, ``inspections audit trail`` shows it)."""
    if not alerts:
        return 0
    try:
        _patiently(lambda: post(settings, alerts), log, "alerts not posted, retrying")
        return len(alerts)
    except Refused as exc:
        if len(alerts) == 1:
            log.warning("alert refused by Alertmanager, skipped", error=str(exc),
                        labels=alerts[0]["labels"])
            return 0
    return sum(deliver(settings, [one], log) for one in alerts)


def _patiently(action, log, what: str):
    while True:
        try:
            return action()
        except Unavailable as exc:
            log.warning(what, error=str(exc))
            time.sleep(5)


def run(settings: Settings, once: bool = False,
        say: Callable[[str], None] = lambda line: None) -> int:
    """Forward breaches until stopped (``once``: until the topic's end, then return).
    Returns how many alerts were posted."""
    from kafka import KafkaConsumer

    logs.configure("notify", settings.log_level, settings.log_format)
    log = logs.get(__name__)
    notices = Notices.of(settings)
    breaches_topic = topics.name(settings, topics.BREACHES)
    consumer = KafkaConsumer(
        breaches_topic, *([topics.name(settings, topics.ESCALATIONS)] if notices else []),
        group_id=settings.app_id("notify"),
        enable_auto_commit=False, auto_offset_reset="earliest",
        **kafka.common(settings, "inspections-notify"))
    sent = skipped = 0
    city = policy.load(settings)
    ladder = city.ladder
    stop = _Stop()
    try:
        while not stop.asked:
            if notices:
                took = deliver(settings, notices.reminders(log), log)
                sent += took
                if took:
                    say(f"posted {took} reminders ({sent} in all)")
            batch = [r for records in consumer.poll(timeout_ms=1000).values()
                     for r in records]
            if not batch:
                if once and _at_end(consumer):
                    return sent
                continue
            now = datetime.now(timezone.utc)
            alerts, left = [], 0
            for record in batch:
                place = {"topic": record.topic, "partition": record.partition,
                         "offset": record.offset}
                if record.topic != breaches_topic:
                    notice, why = notices.assigned(record.value)
                    if notice is not None:
                        alerts.append(notice)
                    elif why:
                        left += 1
                        log.warning("not an escalation notice, skipped", reason=why, **place)
                    continue
                breach, why = breach_of(record.value)
                if breach is None:
                    left += 1
                    log.warning("not a breach, skipped", reason=why, **place)
                    continue
                deadline_id = breach["data"]["deadline_id"]
                authority = _patiently(lambda: authority_of(settings, deadline_id), log,
                                       "authority not known yet, retrying")
                alerts.append(alert(breach, authority, settings.alert_hold_s, now, ladder,
                                    notices.unit_name(breach["data"]["unit_id"]),
                                    settings.timezone))
            took = deliver(settings, alerts, log)
            consumer.commit()
            sent += took
            skipped += left + len(alerts) - took
            say(f"posted {took} alerts ({sent} in all)"
                + (f"; skipped {left + len(alerts) - took} records ({skipped} in all)"
                   if left + len(alerts) - took else ""))
        log.info("stopping: asked to", signal=stop.asked)
        return sent
    finally:
        stop.restore()
        consumer.close(autocommit=False)  # leaves its group; what was posted is committed


class Notices:
    """What notify says besides breaches, with a directory (``INSPECTIONS_DIRECTORY_FILE``):
    an obligation that became someone's (from ``inspections.escalations``) and a reminder
    before it falls due (from the services' lists of what is due, asked every
    ``INSPECTIONS_METRICS_INTERVAL_S``, within the reminder lead of the policy in force).
    Without a directory, nothing: there is nobody to address them to."""

    def __init__(self, settings: Settings, directory) -> None:
        from datetime import timedelta as span

        self.settings, self.directory = settings, directory
        self.before = span(hours=policy.load(settings).reminder_before_h)
        from inspections.asking import operator

        self.page_url = operator.url(settings)  # where a notice's link leads
        self.reminded: set[tuple] = set()
        self.asked_at = float("-inf")

    @classmethod
    def of(cls, settings: Settings) -> Notices:
        from inspections.alerting import directory

        if settings.directory_file is None:
            return cls(settings, None)
        return cls(settings, directory.load(settings.directory_file))

    def __bool__(self) -> bool:
        return self.directory is not None

    def unit_name(self, unit_id: str) -> str:
        return unit_id if self.directory is None else self.directory.unit_name(unit_id)

    def assigned(self, raw: bytes | None) -> tuple[dict | None, str]:
        """The notice of a record of the escalations topic: None and "" for one that says
        nothing to anyone (a withdrawal); None and why for one that is no such event."""
        from pydantic import ValidationError

        from inspections.alerting import notices
        from schemas.derived import EscalationEscalated, EscalationRaised, EscalationWithdrawn

        try:
            body = json.loads(raw) if raw is not None else None
        except ValueError:
            body = None
        kind = body.get("type") if isinstance(body, dict) else None
        model = {"escalation.raised": EscalationRaised,
                 "escalation.escalated": EscalationEscalated,
                 "escalation.withdrawn": EscalationWithdrawn}.get(kind)
        if model is None:
            return None, f"not an escalation notice: type {str(kind)[:60]!r}"
        try:
            model.model_validate_json(raw)
        except ValidationError as exc:
            return None, f"not an {kind}: {exc.errors()[0]['msg']}"[:300]
        if model is EscalationWithdrawn:
            return None, ""
        return notices.assigned(body, self.directory, self.settings.timezone,
                                self.page_url), ""

    def reminders(self, log) -> list[dict]:
        """Reminders not yet posted, of what is due soon (asked at most every metrics
        interval); none while the services do not answer (the next pass asks again)."""
        from inspections.alerting import notices
        from inspections.asking import due

        if time.monotonic() - self.asked_at < self.settings.metrics_interval_s:
            return []
        self.asked_at = time.monotonic()
        try:
            items = due.fetch(self.settings)["due"]
        except RuntimeError as exc:
            log.warning("what is due not known, no reminders this time", error=str(exc)[:300])
            return []
        self._lead_in_force()
        out = []
        for item in notices.due_soon(items, self.before):
            key = (item["kind"], item["subject_id"], item["unit_id"], item.get("level"))
            made = None if key in self.reminded else notices.reminder(
                item, self.directory, self.settings.timezone, self.page_url)
            if made is not None:
                self.reminded.add(key)
                out.append(made)
        return out


    def _lead_in_force(self) -> None:
        """The reminder lead of the policy in force (the log's last adopted, as the escalation
        service says it); the one before while it does not say."""
        from datetime import timedelta as span

        from inspections.asking import client

        try:
            running = client.get(self.settings, "escalation", "/policy")
            self.before = span(hours=float(running["reminder_before_h"]))
        except (RuntimeError, KeyError, TypeError, ValueError):
            pass


class _Stop:
    """SIGINT and SIGTERM (Ctrl-C, a supervisor's stop) ask the loop to end after the batch in
    hand, instead of raising inside the Kafka client (which then could not leave its group
    and hung on close)."""

    def __init__(self) -> None:
        import signal
        import threading

        self.asked: str | None = None
        self.before: dict = {}
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self.before[number] = signal.signal(number, self._ask)

    def _ask(self, number, frame) -> None:
        import signal

        if self.asked is not None:  # asked twice: stop now
            raise KeyboardInterrupt
        self.asked = signal.Signals(number).name

    def restore(self) -> None:
        import signal

        for number, handler in self.before.items():
            signal.signal(number, handler)


def _at_end(consumer) -> bool:
    assigned = consumer.assignment()
    if not assigned:
        return False
    ends = consumer.end_offsets(list(assigned))
    return all(consumer.position(tp) >= ends[tp] for tp in assigned)

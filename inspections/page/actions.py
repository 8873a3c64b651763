"""Acting on an escalation from the operator page: acknowledge it, resolve it, record the
enforcement document or the immediate measures it asks for; a form, or JSON (``/api/``).

An action is a contract event (``escalation.acknowledged``, ``escalation.resolved``,
``enforcement.document.issued``, ``immediate.measures.taken``) checked by the gate and
published to the inbound topic, keyed by its unit, ``acks=all``, like any upstream system's;
``by`` and the ``actor`` extension attribute name the account. Nothing is published unless
the account's authority holds the escalation now, in a unit it covers. Each form carries a
fresh action id, the event's id: a form sent twice publishes once (and the services, which
apply an event id once, would apply it once anyway). Then the outcome: the escalation's
ladder shows the step the event made (closed, or why it stays open), or the rejected
records show why the gate refused it.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from inspections.accounts.roles import (
    ACKNOWLEDGE,
    ACTIONS,
    DOCUMENT,
    MEASURES,
    RESOLVE,
    Account,
)
from kernel.vocabulary import ACK, RESOLVED
from kernel.vocabulary import DOCUMENT as DOCUMENT_ISSUED
from kernel.vocabulary import MEASURES as MEASURES_TAKEN
from inspections.upstream.publish import Acknowledged
from runtime.config.settings import Settings
from runtime.plumbing import logs
from schemas import Rejection, decode
from schemas.envelope import envelope

SOURCE = "urn:inspections:operator-page"
ACTION_ID = re.compile(r"^[0-9a-f]{32}$")
# Each action: the event it publishes, and the fields of the form it takes.
EVENT_OF = {ACKNOWLEDGE: ACK, RESOLVE: RESOLVED, DOCUMENT: DOCUMENT_ISSUED,
            MEASURES: MEASURES_TAKEN}
FIELDS = {ACKNOWLEDGE: (), RESOLVE: ("resolution",), DOCUMENT: ("document_no", "department"),
          MEASURES: ("description",)}
KEPT = 10_000  # action ids remembered against a second submit


def new_action_id() -> str:
    return secrets.token_hex(16)


def event_id(action_id: str) -> str:
    return f"act-{action_id}"


def action_event(account: Account, escalation: dict, action: str, fields: dict[str, str],
                 action_id: str, now: datetime) -> dict:
    """The contract event an account's action publishes (not yet checked by the gate)."""
    unit = escalation["unit_id"]
    data: dict = {"unit_id": unit}
    if action in (ACKNOWLEDGE, RESOLVE):
        data["escalation_id"] = escalation["escalation_id"]
    else:
        data["finding_id"] = escalation["finding_id"]
    if action == ACKNOWLEDGE:
        data["by"] = account.name
    for name in FIELDS[action]:
        data[name] = fields.get(name, "")
    return envelope(EVENT_OF[action], event_id(action_id), source=SOURCE,
                    time=now.isoformat(), subject=unit, data=data, actor=account.name)


def missing(action: str, fields: dict[str, str]) -> str | None:
    empty = [name for name in FIELDS[action] if not fields.get(name, "").strip()]
    return f"{action} needs {', '.join(empty)}" if empty else None


def refusal(who: Account, escalation: dict, action: str,
            fields: dict[str, str]) -> tuple[int, str | None]:
    """Why an action is refused, with its HTTP status (None: it is not): 400 an unknown
    action or a missing field, 409 an escalation done with, 403 not the account's to act on."""
    if action not in ACTIONS:
        return 400, f"the action must be one of {', '.join(ACTIONS)}; got {action[:40]!r}"
    if escalation["status"] in ("closed", "withdrawn"):
        return 409, f"the escalation is {escalation['status']} already: nothing to do"
    why = who.why_not(escalation, action)
    if why is not None:
        return 403, why
    why = missing(action, fields)
    return (400, why) if why else (202, None)


def outcome(escalation: dict | None, event: str, rejected: list[dict], place) -> dict:
    """What became of a published action: ``done`` (the step it made closed the
    escalation), ``noted`` (applied, and the escalation stays open: the step says why),
    ``refused`` (the gate's reason), or ``waiting`` (not applied yet)."""
    for step in (escalation or {}).get("history", []):
        if step["event_id"] == event:
            # The step that closed it: at its closing time, and no step that only noted it.
            closed = escalation["status"] == "closed" \
                and step["time"] == escalation["closed_at"] \
                and step["what"] in ("acknowledged", "resolved", "closed") \
                and not step["note"].startswith("does not close")
            return {"state": "done" if closed else "noted", "status": escalation["status"],
                    "step": step}
    if place is not None:
        for r in rejected:
            if (r.get("topic"), r.get("partition"), r.get("offset")) == place:
                return {"state": "refused", "reason": r["reason"], "cause": r["cause"]}
    return {"state": "waiting"}


class Acting:
    """The page's actions: checks, publishing once, and the outcome."""

    def __init__(self, settings: Settings, views, door, rejected_log) -> None:
        self.views, self.door, self.rejected_log = views, door, rejected_log
        self.publisher = Acknowledged(settings, client_id="inspections-page")
        self.published: OrderedDict[str, tuple[str, int, int]] = OrderedDict()
        self.lock = asyncio.Lock()
        self.log = logs.get("inspections.page.actions")

    async def escalation(self, session, escalation_id: str) -> dict | None:
        from inspections.page.details import seg

        return await self.views.get(session, "escalation", f"/escalations/{seg(escalation_id)}")

    async def act(self, session, who, escalation_id: str, action: str,
                  fields: dict[str, str], action_id: str | None) -> tuple[int, dict]:
        """An HTTP status and its answer: 202 and where to see the outcome, or why not."""
        if not isinstance(who, Account):
            return 403, {"error": f"{who.label()} reads and does not act: sign in with an "
                                  "account to act"}
        found = await self.escalation(session, escalation_id)
        if found is None or not who.sees(found["unit_id"]):
            return 404, {"error": f"no escalation {escalation_id[:128]} in the views"}
        if action_id is not None and not ACTION_ID.match(action_id):
            return 400, {"error": "action_id is 32 lower-case hexadecimal digits"}
        action_id = action_id or new_action_id()
        eid = event_id(action_id)
        async with self.lock:
            if eid in self.published:  # the same form sent again: published once
                return 202, self.answer(found, eid, self.published[eid], again=True)
            status, why = refusal(who, found, action, fields)
            if why is not None:
                self.log.info("action refused", account=who.name, action=action[:40],
                              escalation_id=escalation_id[:128], why=why)
                return status, {"error": why}
            event = action_event(who, found, action, fields, action_id,
                                 datetime.now(timezone.utc))
            status, place = await self.send(who, eid, event, found["unit_id"])
            if status != 202:
                return status, place
        self.log.info("action published", account=who.name, action=action, event_id=eid,
                      event_type=event["type"], escalation_id=found["escalation_id"],
                      unit_id=found["unit_id"], partition=place[1], offset=place[2])
        return 202, self.answer(found, eid, place)

    async def send(self, who, eid: str, event: dict, key: str) -> tuple[int, Any]:
        """An account's event checked by the gate and published keyed by ``key``, its place
        remembered against a second submit of the same form (the caller holds ``lock``):
        (202, (topic, partition, offset)), or (400, why the gate refuses it), or (503, the
        broker did not take it: nothing published)."""
        from kernel.codec import dumps

        raw = dumps(event)
        checked = decode(raw, key=key.encode())
        if isinstance(checked, Rejection):
            return 400, {"error": f"the gate refuses it: {checked.reason}"}
        try:
            [(partition, offset)] = await asyncio.get_running_loop().run_in_executor(
                None, self.publisher.send, [(event["type"], raw, key)])
        except Exception as exc:  # the broker did not take it: nothing is done
            self.log.warning("action not published", account=who.name, event_id=eid,
                             error=str(exc)[:300])
            return 503, {"error": f"the broker did not take the action ({exc}); nothing "
                                  "was published: try again"}
        place = (self.publisher.topic, partition, offset)
        self.published[eid] = place
        while len(self.published) > KEPT:
            self.published.popitem(last=False)
        return 202, place

    @staticmethod
    def answer(found: dict, eid: str, place, again: bool = False) -> dict:
        where = (f"/escalations/{quote(found['escalation_id'], safe='')}/outcome/{eid}"
                 f"?partition={place[1]}&offset={place[2]}")
        return {"event_id": eid, "escalation_id": found["escalation_id"],
                "partition": place[1], "offset": place[2], "outcome": where,
                "again": again}

    async def outcome(self, session, who, escalation_id: str, eid: str,
                      place: tuple[str, int, int] | None) -> dict | None:
        found = await self.escalation(session, escalation_id)
        if found is None or not who.sees(found["unit_id"]):
            return None
        return {"escalation": found, "event_id": eid,
                **outcome(found, eid, self.rejected_log.all(), place)}

    def close(self) -> None:
        self.publisher.close()


def routes(page, acting: Acting, events_topic: str):
    from aiohttp import web

    def fields_of(source) -> dict[str, str]:
        return {name: str(source.get(name, ""))[:10_000] for fields in FIELDS.values()
                for name in fields}

    async def act_form(request: web.Request) -> web.Response:
        """A form's POST: checked against the session's token, then as the API; the answer
        a page (303 to the outcome)."""
        form = await request.post()
        if not acting.door.form_ok(request, str(form.get("csrf", ""))):
            acting.log.warning("forged or stale form refused", path=request.path[:200],
                               address=request.remote)
            return await page(request, "refused.html", status=403, reason=(
                "the form's token is missing or wrong (an old page, or a form from "
                "elsewhere): open the escalation again and act from there"))
        status, answer = await acting.act(
            request.app["session"], request["who"], request.match_info["escalation_id"],
            str(form.get("action", "")), fields_of(form), str(form.get("action_id", "")) or None)
        if status != 202:
            return await page(request, "refused.html", status=status, reason=answer["error"])
        raise web.HTTPSeeOther(answer["outcome"])

    async def act_json(request: web.Request) -> web.Response:
        """``POST /api/escalations/{id}/act``: ``{"action": ..., "action_id": ..., and the
        action's fields}``. A browser's session must send its form token in ``X-CSRF-Token``."""
        if not acting.door.form_ok(request, request.headers.get("X-CSRF-Token")):
            return web.json_response({"error": "X-CSRF-Token is missing or wrong"}, status=403)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return web.json_response({"error": "the body is a JSON object: action, action_id "
                                               "(optional) and the action's fields"}, status=400)
        status, answer = await acting.act(
            request.app["session"], request["who"], request.match_info["escalation_id"],
            str(body.get("action", "")), fields_of(body),
            None if body.get("action_id") is None else str(body["action_id"]))
        return web.json_response(answer, status=status)

    def place_of(request) -> tuple[str, int, int] | None:
        try:
            return (events_topic, int(request.query["partition"]),
                    int(request.query["offset"]))
        except (KeyError, ValueError):
            return None

    async def outcome_page(request: web.Request) -> web.Response:
        eid = request.match_info["event_id"]
        found = await acting.outcome(request.app["session"], request["who"],
                                     request.match_info["escalation_id"], eid, place_of(request))
        if found is None:
            return await page(request, "unavailable.html", status=404,
                              reason="no such escalation in the views")
        waiting = {"refresh": 1} if found["state"] == "waiting" else {}
        return await page(request, "outcome.html", o=found, e=found["escalation"], **waiting)

    async def outcome_json(request: web.Request) -> web.Response:
        found = await acting.outcome(request.app["session"], request["who"],
                                     request.match_info["escalation_id"],
                                     request.match_info["event_id"], place_of(request))
        if found is None:
            return web.json_response({"error": "no such escalation in the views"}, status=404)
        return web.json_response(found)

    return [("POST", "/escalations/{escalation_id}/act", act_form),
            ("POST", "/api/escalations/{escalation_id}/act", act_json),
            ("GET", "/escalations/{escalation_id}/outcome/{event_id}", outcome_page),
            ("GET", "/api/escalations/{escalation_id}/outcome/{event_id}", outcome_json)]


__all__ = ["ACTIONS", "Acting", "action_event", "outcome", "routes"]

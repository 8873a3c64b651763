"""The operator page: a read-only web page over the services' views and the breaches topic.

It holds no rule and no state of its own: each request reads the scheduler's campaign views,
the findings service's problem lists and the escalation register over HTTP, and the breaches
from ``inspections.breaches`` (read from the start by a reader that joins no group). Pages are
Jinja2 templates with autoescaping on: text that came from an event is always shown as text.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.vocabulary import (
    AUTHORITIES,
    CATEGORIES,
    SERVICES,
    UNIT_KINDS,
    VISIT_STATES,
)
from runtime import logs, topics, webauth
from runtime.app import web_port
from runtime.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"

KINDS = UNIT_KINDS


def port(settings: Settings) -> int:
    """The page's port: after the three services'."""
    return settings.web_port_base + len(SERVICES)


def host(settings: Settings) -> str:
    return "127.0.0.1" if settings.web_host in ("0.0.0.0", "") else settings.web_host


class Breaches:
    """Every ``deadline.breached`` on the breaches topic, kept in memory by id (a redelivered
    copy is one breach), read by a background thread from the start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.by_id: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._read, name="breaches", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def all(self) -> list[dict]:
        with self.lock:
            return sorted(self.by_id.values(), key=lambda b: (b["time"], b["id"]))

    def _read(self) -> None:
        from kafka import TopicPartition

        from runtime import kafka

        log = logs.get(__name__)
        topic = topics.name(self.settings, topics.BREACHES)
        while not self.stopped.is_set():
            try:
                consumer = kafka.consumer(self.settings, client_id="inspections-operator")
                parts = consumer.partitions_for_topic(topic) or set()
                consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
                consumer.seek_to_beginning()
                while not self.stopped.is_set():
                    for records in consumer.poll(timeout_ms=500).values():
                        for record in records:
                            self._add(record.value)
            except Exception as exc:  # the broker went away: try again
                log.warning("breaches not readable, retrying", error=str(exc))
                self.stopped.wait(2)

    def _add(self, raw: bytes) -> None:
        try:
            event = json.loads(raw)
            data = event["data"]
            item = {"id": event["id"], "time": event["time"], "kind": data["kind"],
                    "unit_id": data["unit_id"], "subject_id": data["subject_id"],
                    "due": data["due"], "service": event["source"].rsplit(":", 1)[-1],
                    "detail": data.get("detail")}
        except (ValueError, KeyError, TypeError):
            return  # not a breach this page can show; the audit tools report such records
        with self.lock:
            self.by_id[item["id"]] = item


class Views:
    """The services' HTTP views, asked on each request."""

    def __init__(self, settings: Settings) -> None:
        h = host(settings)
        self.base = {s: (getattr(settings, f"{s}_url") or f"http://{h}:{web_port(settings, s)}")
                     .rstrip("/") for s in SERVICES}

    async def get(self, session, service: str, path: str, **params) -> Any:
        import aiohttp

        url = self.base[service] + path
        try:
            async with session.get(url, params={k: v for k, v in params.items() if v},
                                   timeout=aiohttp.ClientTimeout(total=10)) as answer:
                if answer.status == 404:
                    return None
                answer.raise_for_status()
                return await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise Unavailable(f"the {service} service did not answer at {url}: {exc}") from None


class Unavailable(Exception):
    pass


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def overdue_for(escalation: dict, as_of: datetime | None) -> str | None:
    """How long an open escalation has been overdue: since the first due time it missed."""
    missed = [s for s in escalation["history"] if s["what"] == "missed"]
    if not missed or as_of is None or escalation["status"] == "closed":
        return None
    since = _time(missed[0]["due"])
    seconds = max(0, int((as_of - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    return f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min"


def as_of(breaches: list[dict], escalations: list[dict], campaign: dict | None) -> datetime | None:
    """The latest event time the views show: what 'now' is for the board."""
    times = [_time(b["time"]) for b in breaches]
    times += [_time(s["time"]) for e in escalations for s in e["history"]]
    if campaign and campaign.get("judged_at"):
        times.append(_time(campaign["judged_at"]))
    return max(times) if times else None


def board(campaign: dict | None, escalations: list[dict], breaches: list[dict],
          filters: dict[str, str]) -> dict:
    """What the board page shows, from the views (no rule here: counts and filters)."""
    now = as_of(breaches, escalations, campaign)
    by_level = Counter((e["authority"], e["level"]) for e in escalations)
    shown = [b for b in breaches
             if all(not filters.get(f) or b[f] == filters[f] for f in ("kind", "unit_id",
                                                                        "service"))]
    return {
        "campaign": campaign,
        "as_of": now,
        "escalations": [{**e, "overdue_for": overdue_for(e, now)} for e in escalations],
        "by_authority": [{"authority": a, "level": lvl, "count": n}
                         for (a, lvl), n in sorted(by_level.items())],
        "breaches": shown,
        "breach_total": len(breaches),
        "breach_kinds": sorted({b["kind"] for b in breaches}),
        "breach_units": sorted({b["unit_id"] for b in breaches}),
        "breach_services": sorted({b["service"] for b in breaches}),
        "filters": filters,
    }


def templates():
    """The pages' Jinja2 templates, every value escaped as it is written into HTML."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]))
    env.globals.update(AUTHORITIES=AUTHORITIES, KINDS=KINDS, CATEGORIES=CATEGORIES,
                       VISIT_STATES=VISIT_STATES)
    return env


def create_app(settings: Settings):
    """The aiohttp application (built when called)."""
    import aiohttp
    from aiohttp import web

    env = templates()
    views = Views(settings)
    breaches = Breaches(settings)

    def page(name: str, status: int = 200, **context) -> web.Response:
        return web.Response(text=env.get_template(name).render(**context), status=status,
                            content_type="text/html", charset="utf-8")

    async def on_startup(app) -> None:
        app["session"] = aiohttp.ClientSession(headers=webauth.headers(settings))
        breaches.start()

    async def on_cleanup(app) -> None:
        breaches.stop()
        await app["session"].close()

    async def board_page(request: web.Request) -> web.Response:
        session = request.app["session"]
        try:
            listed = await views.get(session, "scheduler", "/campaigns") or {"campaigns": []}
            ids = [c["campaign_id"] for c in listed["campaigns"]]
            wanted = request.query.get("campaign") or (ids[0] if ids else None)
            campaign = (await views.get(session, "scheduler", f"/campaigns/{wanted}")
                        if wanted else None)
            register = await views.get(session, "escalation", "/escalations")
        except Unavailable as exc:
            return page("unavailable.html", status=503, reason=str(exc))
        filters = {f: request.query.get(f, "") for f in ("kind", "unit_id", "service")}
        return page("board.html", campaigns=ids, **board(
            campaign, register["escalations"], breaches.all(), filters))

    async def unit_page(request: web.Request) -> web.Response:
        session = request.app["session"]
        unit_id = request.match_info["unit_id"]
        category = request.query.get("category", "")
        try:
            unit = await views.get(session, "scheduler", f"/units/{unit_id}")
            findings = await views.get(session, "findings", f"/units/{unit_id}/findings",
                                       category=category)
            escalations = await views.get(session, "escalation", f"/units/{unit_id}/escalations")
        except Unavailable as exc:
            return page("unavailable.html", status=503, reason=str(exc))
        if unit is None and findings is None:
            return page("unavailable.html", status=404, reason=f"no unit {unit_id} in the views")
        return page("unit.html", unit_id=unit_id, unit=unit, category=category,
                    findings=(findings or {}).get("findings", []),
                    escalations=(escalations or {}).get("escalations", []),
                    breaches=[b for b in breaches.all() if b["unit_id"] == unit_id])

    async def breaches_json(request: web.Request) -> web.Response:
        return web.json_response({"breaches": breaches.all()})

    async def alive(request: web.Request) -> web.Response:
        return web.json_response({"service": "operator", "status": "alive"})

    app = web.Application(middlewares=[webauth.middleware(settings)])
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", board_page)
    app.router.add_get("/units/{unit_id}", unit_page)
    app.router.add_get("/breaches.json", breaches_json)
    app.router.add_get("/healthz", alive)
    return app


def serve(settings: Settings) -> None:
    from aiohttp import web

    logs.configure("operator", settings.log_level, settings.log_format)
    logs.get(__name__).info("operator page", url=f"http://{host(settings)}:{port(settings)}/")
    web.run_app(create_app(settings), host=settings.web_host, port=port(settings),
                print=None, access_log=None)

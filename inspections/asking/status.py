"""``inspections status``: the state of a deployment on one screen. Each part is asked on its
own, and a part that cannot be answered says why instead of stopping the others.

- each service's workers (or, with ``INSPECTIONS_ALL_URL``, the workers of every service in
  one process): its consumer group's members, and whether the worker at the
  service's URL is ready (``/readyz``);
- consumer lag per group and partition (committed offsets against the ends);
- stream time per partition, from the workers that keep it (``/stream-time``);
- the open obligations by kind (``/due``);
- the rejections appended in the last hour.

The groups (and the scheduler's internal topic) are those of each service's live generation
(``runtime.faust_runner.generations``): after ``inspections rebuild --remove-old`` generation 0's
group is gone, and its "lag" (no offsets: the whole log) was nobody's.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import services
from inspections.asking.client import deployed, exchange, get, worker_url
from inspections.asking.due import fetch
from kernel.due import OWNERS
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner import generations
from runtime.plumbing import kafka, webauth


def _get(settings: Settings, url: str) -> tuple[int, Any]:
    code, body = exchange(urllib.request.Request(url, headers=webauth.headers(settings)),
                          timeout=10)
    return code, {} if body is None else body


def _worker(settings: Settings, name: str) -> dict:
    url = worker_url(settings, name)
    try:
        code, body = _get(settings, f"{url}/readyz")
    except (urllib.error.URLError, OSError) as exc:
        return {"url": url, "ready": False,
                "reason": f"no answer ({getattr(exc, 'reason', exc)}): is the worker running?"}
    if code == 200:
        return {"url": url, "ready": True, "partitions": len(body.get("partitions", []))}
    return {"url": url, "ready": False, "reason": body.get("reason", f"HTTP {code}")}


def live_generations(settings: Settings) -> dict[str, int]:
    """Per worker deployed (each service's, or ``all``): its live generation
    (``inspections.generations``; 0 before any rebuild)."""
    pointer = generations.Pointer(settings)
    try:
        return {s: pointer.live(s) for s in deployed(settings)}
    finally:
        pointer.close()


def _members(live: dict[str, Settings], admin) -> dict[str, int]:
    """Per worker deployed: the members of its live consumer group (its running workers)."""
    groups = {live[s].app_id(s): s for s in live}
    described = admin.describe_groups(list(groups))  # kafka-python 3: {group: {...}}
    return {service: len((described.get(group) or {}).get("members") or ())
            for group, service in groups.items()}


def _lag(live: dict[str, Settings], admin, reader) -> dict[str, dict[str, int]]:
    """Per service's live group: ``topic:partition`` -> records not committed yet."""
    from kafka import TopicPartition

    out: dict[str, dict[str, int]] = {}
    for service in live:
        group = live[service].app_id(service)
        committed = admin.list_group_offsets([group]).get(group, {})
        lags: dict[str, int] = {}
        for topic in services.sources(service, live[service]):
            parts = [TopicPartition(topic, p)
                     for p in sorted(reader.partitions_for_topic(topic) or ())]
            for tp, end in reader.end_offsets(parts).items():
                got = committed.get(tp)
                lags[f"{tp.topic}:{tp.partition}"] = max(
                    0, end - (got.offset if got and got.offset >= 0 else 0))
        out[service] = lags
    return out


def _stream_times(settings: Settings) -> dict[str, dict[str, str | None]]:
    out = {}
    for service in OWNERS:  # the services whose rules keep a stream time
        out[service] = get(settings, service, "/stream-time")["partitions"]
    return out


def _recent_rejections(settings: Settings, reader, hours: float = 1.0) -> dict:
    """Rejections whose original records were appended in the last ``hours``, by cause."""
    from kafka import TopicPartition

    from inspections.upstream.rejected import Rejected

    topic = topics.name(settings, topics.REJECTED)
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    parts = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
    starts = reader.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in parts})
    ends = reader.end_offsets(parts)
    seen: dict[str, str] = {}
    for tp in parts:
        start = starts.get(tp)
        if start is None:
            continue
        reader.assign([tp])
        reader.seek(tp, start.offset)
        while reader.position(tp) < ends[tp]:
            for batch in reader.poll(timeout_ms=500).values():
                for r in batch:
                    try:
                        item = Rejected.of(json.loads(r.value))
                    except (ValueError, KeyError, TypeError):
                        continue
                    if item.time >= since:
                        seen[item.id] = item.cause
    return {"since": since.isoformat(), "total": len(seen),
            "by_cause": dict(sorted(Counter(seen.values()).items()))}


def gather(settings: Settings) -> dict:
    """Every part; a part that failed is ``{"error": why}``."""
    out: dict[str, Any] = {"workers": {s: _worker(settings, s) for s in deployed(settings)}}

    def part(name: str, compute) -> None:
        try:
            out[name] = compute()
        except Exception as exc:  # each part on its own: the others still show
            out[name] = {"error": f"{exc.__class__.__name__}: {exc}"}

    admin = reader = None
    try:
        admin = kafka.admin(settings, client_id="inspections-status")
        reader = kafka.consumer(settings, client_id="inspections-status")
    except Exception as exc:
        out["kafka"] = {"error": f"cannot reach Kafka at {settings.bootstrap} ({exc}): start "
                                 "the broker or set INSPECTIONS_BOOTSTRAP_SERVERS"}
    if admin is not None and reader is not None:
        # The groups and internal topics are the live generation's, each service's own.
        part("generations", lambda: live_generations(settings))
        if "error" not in out["generations"]:
            live = {s: generations.of(settings, g) for s, g in out["generations"].items()}
            part("members", lambda: _members(live, admin))
            part("lag", lambda: _lag(live, admin, reader))
        part("rejected_last_hour", lambda: _recent_rejections(settings, reader))
    part("stream_time", lambda: _stream_times(settings))
    part("due", lambda: _due_counts(settings))
    for client in (admin, reader):
        if client is not None:
            client.close()
    out["healthy"] = (all(w["ready"] for w in out["workers"].values())
                      and not any(isinstance(v, dict) and "error" in v for v in out.values()))
    return out


def _due_counts(settings: Settings) -> dict:
    found = fetch(settings)
    counts = Counter(d["kind"] for d in found["due"])
    soonest = found["due"][0] if found["due"] else None
    return {"as_of": found["as_of"], "open": dict(sorted(counts.items())),
            "soonest": soonest}


def lines(status: dict) -> list[str]:
    """For people."""
    out = ["workers:"]
    for service, w in status["workers"].items():
        count = status.get("members", {}).get(service)
        generation = status.get("generations", {}).get(service)
        state = (f"ready, {w['partitions']} partitions" if w["ready"]
                 else f"NOT READY: {w['reason']}")
        out.append(f"  {service:<11} {w['url']:<28} {state}"
                   + (f"; {count} workers in its group" if isinstance(count, int) else "")
                   + (f" (generation {generation})" if isinstance(generation, int)
                      and generation else ""))
    if "kafka" in status:
        out.append(f"kafka: {status['kafka']['error']}")
    if "error" in status.get("generations", {}):
        out.append(f"live generations: {status['generations']['error']}")
    lag = status.get("lag")
    if isinstance(lag, dict) and "error" not in lag:
        out.append("consumer lag (records not committed):")
        for service, parts in lag.items():
            behind = {k: v for k, v in parts.items() if v}
            text = ", ".join(f"{k} {v}" for k, v in behind.items()) or "none"
            out.append(f"  {service:<11} {sum(parts.values()):>8}  {text}")
    elif lag is not None:
        out.append(f"consumer lag: {lag['error']}")
    times = status.get("stream_time")
    if isinstance(times, dict) and "error" not in times:
        out.append("stream time by partition:")
        for service, parts in times.items():
            shown = ", ".join(f"{p} {t or '-'}" for p, t in parts.items())
            out.append(f"  {service:<11} {shown}")
    elif times is not None:
        out.append(f"stream time: {times['error']}")
    due = status.get("due")
    if isinstance(due, dict) and "error" not in due:
        counts = ", ".join(f"{k} {n}" for k, n in due["open"].items()) or "none"
        out.append(f"open obligations: {counts}")
        if due["soonest"]:
            s = due["soonest"]
            out.append(f"  soonest: {s['kind']} {s['subject_id']} due {s['due']}")
    elif due is not None:
        out.append(f"open obligations: {due['error']}")
    rejected = status.get("rejected_last_hour")
    if isinstance(rejected, dict) and "error" not in rejected:
        causes = ", ".join(f"{k} {n}" for k, n in rejected["by_cause"].items())
        out.append(f"rejected in the last hour: {rejected['total']}"
                   + (f" ({causes})" if causes else ""))
    elif rejected is not None:
        out.append(f"rejected in the last hour: {rejected['error']}")
    out.append("healthy" if status["healthy"] else "NOT HEALTHY: see above")
    return out


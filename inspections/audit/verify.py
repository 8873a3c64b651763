"""``audit verify`` as the derived topics stream: what the rules derive from the inbound log
(a replay's run, ``runtime.replay_runner.run``) kept as digests of each event's id and bytes, then
every record of each derived topic compared with it as it is read. Memory holds digests, not events;
an event is read back from the run's files only to show a difference."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from inspections.audit.checks import TopicCheck, diff
from kernel import ids
from kernel.codec import dumps
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing.kafka import stream_log
from runtime.replay_runner.parts import digest
from runtime.replay_runner.run import Run, gather_index
from services import SYSTEM

ID = b'"id":"'


def verify(settings: Settings, workers: int = 0,
           progress: Callable[[str, int], Callable[[int], None]] = lambda phase, total: (
               lambda n: None)) -> list[TopicCheck]:
    """``progress(phase, total)`` gives what to call with each step of a phase: computing
    (records of the inbound log), comparing (records of the derived topics)."""
    from runtime.plumbing.kafka import log_size
    from runtime.replay_runner.parts import end_offsets

    with tempfile.TemporaryDirectory(prefix="inspections-verify-") as work:
        total = sum(end_offsets(settings).values())
        run = Run(SYSTEM, settings, Path(work), workers=workers, index=True,
                  progress=progress("computing", total))
        try:
            paths, index = gather_index(run)
        finally:
            run.stop()
        names = {topics.name(settings, t): t for t in topics.published(SYSTEM)}
        by_topic: dict[str, dict[int, int]] = {name: {} for name in names}
        for i in range(0, len(index), 4):
            topic = Path(paths[index[i + 2]]).parent.name
            by_topic[topics.name(settings, topic)][index[i]] = i
        advance = progress("comparing", sum(log_size(settings, n) for n in names))
        return [compare_topic(settings, name, by_topic[name], index, paths, advance)
                for name in names]


def compare_topic(settings: Settings, topic: str, want: dict[int, int], index, paths,
                  advance: Callable[[int], None]) -> TopicCheck:
    check = TopicCheck(topic, computed=len(want))
    first: dict[int, int] = {}  # id digest -> the bytes' digest of the first record with it
    for record in stream_log(settings, topic, advance):
        check.found += 1
        raw = record.value or b""
        event_id = _id(raw)
        if event_id is None:
            check.extra.append(f"{topic}[{record.partition}]@{record.offset} (not an event)")
            continue
        kind = _kind(raw)
        check.kinds[kind] = check.kinds.get(kind, 0) + 1
        at = f"{record.partition}@{record.offset}"
        key, content = ids.digest(event_id), digest(raw)
        position = want.get(key)
        if key in first:
            if first[key] == content or _canonical(raw) == first[key]:
                check.copies.append(event_id)
            else:  # a second record with this id and other content: what it changes
                check.different.append({"id": event_id, "at": at, "changes": diff(
                    _read(paths, index, position), json.loads(raw)) if position is not None
                    else ["another record with this id and other content"]})
            continue
        if position is None:
            first[key] = content
            check.extra.append(event_id)
            continue
        if content != index[position + 1]:  # not the same bytes: the same content?
            content = _canonical(raw)
            if content != index[position + 1]:
                check.different.append({"id": event_id, "at": at, "changes": diff(
                    _read(paths, index, position), json.loads(raw))})
        first[key] = index[position + 1] if content == index[position + 1] else content
    check.missing = sorted(_read(paths, index, position)["id"]
                           for key, position in want.items() if key not in first)
    check.extra.sort()
    return check


def _id(raw: bytes) -> str | None:
    """The event id of a record: found in the canonical form the services write, or parsed."""
    start = raw.find(ID)
    if start >= 0 and raw.startswith(b"{"):
        end = raw.find(b'"', start + len(ID))
        found = raw[start + len(ID):end]
        if end > 0 and b"\\" not in found:
            return found.decode("utf-8", "replace")
    try:
        event = json.loads(raw)
        return event["id"] if isinstance(event, dict) and isinstance(event.get("id"), str) \
            else None
    except (ValueError, TypeError):
        return None


TYPE, KIND = re.compile(rb'"type":"([^"\\]+)"'), re.compile(rb'"kind":"([^"\\]+)"')


def _kind(raw: bytes) -> str:
    """A derived event's type, and a breach's kind after it: read off the canonical bytes
    (no parse: verify reads at the speed of the log)."""
    kinds = KIND.search(raw)
    found = [m.group(1).decode() for m in TYPE.finditer(raw)]
    # The envelope's "type" is the last key in canonical (sorted) order: data comes first.
    event_type = found[-1] if found else "unknown"
    return f"{event_type} {kinds.group(1).decode()}" if kinds and event_type == \
        "deadline.breached" else event_type


def _canonical(raw: bytes) -> int:
    try:
        return digest(dumps(json.loads(raw)))
    except (ValueError, TypeError):
        return -1


def _read(paths: list[str], index, position: int) -> dict:
    """The derived event at ``position`` of the index, read back from its file."""
    with open(paths[index[position + 2]], "rb") as handle:
        handle.seek(index[position + 3])
        return json.loads(handle.readline())

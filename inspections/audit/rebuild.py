"""``inspections rebuild SERVICE``: a new generation of a service's state, built from offset 0
beside the live one while it keeps serving, then made live; the old one's group and
changelogs removed on request (``runtime.faust_runner.generations`` says how generations work).

1. The next generation's worker starts here (``inspections run SERVICE --generation N`` on
   ``--port``), with a consumer group, changelogs and internal topics of its own, and reads
   everything from the start, publishing nothing the live generation has published.
2. Progress: its records behind, against the live generation's, until it is as far.
3. The switch: generation N is made live. The old generation's workers see it and stop; their
   supervisor (compose, systemd) starts them again and they join generation N, whose state is
   already built (its changelogs). Views are answered throughout: by the old workers until
   they stop, by the new worker from then on.
4. With ``--remove-old``: once the old generation's group is empty, it is deleted with its
   changelogs and internal topics.
5. The hand-over: once another worker has joined generation N, this one stops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from runtime.config import topics
from runtime.config.settings import Settings
from runtime.faust_runner import generations
from runtime.plumbing import kafka


def _ready(port: int, host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def _members(admin, group: str) -> int:
    from kafka.errors import KafkaError

    try:
        found = admin.describe_groups([group]).get(group) or {}
    except KafkaError:  # no coordinator yet (no group ever made): nobody
        return 0
    return len(found.get("members") or ())


def _past(admin, new_group: str, old_group: str, shared: set[str]) -> bool:
    """Whether ``new_group`` has committed at least ``old_group``'s offset on every
    partition of the ``shared`` topics (those both read; not the old one's internal)."""
    found = admin.list_group_offsets([new_group, old_group])
    new = {tp: m.offset for tp, m in (found.get(new_group) or {}).items()}
    return all(new.get(tp, -1) >= m.offset for tp, m in (found.get(old_group) or {}).items()
               if tp.topic in shared and m.offset is not None and m.offset >= 0)


def old_topics(settings: Settings, service: str, existing: set[str]) -> list[str]:
    """The old generation's own topics: its tables' changelogs, faust's leader topic, its
    internal topics (a generation after the first has its own)."""
    import services
    from runtime.faust_runner.worker import SIDE, STATE, table_name

    app_id, hosted = settings.app_id(service), services.hosted(service)
    mine = {f"{app_id}-{table_name(s.name, kind, len(hosted) == 1)}-changelog"
            for s in hosted for kind in (STATE, SIDE)}
    mine.add(f"{app_id}-__assignor-__leader")
    if settings.generation:
        mine |= {topics.name(settings, t) for t in topics.INTERNAL}
    return sorted(mine & existing)


def rebuild(settings: Settings, service: str, port: int, remove_old: bool,
            say: Callable[[str], None], every_s: float = 5.0) -> int:
    """Run the rebuild; return the new generation."""
    import services

    current = generations.live(settings, service)
    old, new = generations.of(settings, current), generations.of(settings, current + 1)
    admin = kafka.admin(settings, client_id="inspections-rebuild")
    probe = kafka.LagProbe(settings)
    worker = None
    try:
        topics.ensure_internal(admin, new)
        if _members(admin, new.app_id(service)):
            raise RuntimeError(f"generation {current + 1} of {service} already has workers: "
                               "is another rebuild running?")
        log = settings.home / "logs" / f"rebuild-{service}-g{current + 1}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        say(f"Generation {current + 1} of {service} starts beside generation {current} "
            f"(live), on port {port}; its log: {log}")
        with open(log, "ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "inspections.cli", "run", service,
                 "--generation", str(current + 1)],
                env={**os.environ, "INSPECTIONS_WEB_PORT": str(port)},
                stdout=out, stderr=subprocess.STDOUT)
        host = settings.local_web_host
        reads_new = services.sources(service, new)
        reads_old = services.sources(service, old)
        margin = settings.batch_max_records
        last = 0.0
        while True:
            if worker.poll() is not None:
                tail = log.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError(f"generation {current + 1}'s worker exited "
                                   f"({worker.returncode}); its log ends:\n" + "\n".join(tail))
            behind = probe.behind(new.app_id(service), reads_new)
            live_behind = probe.behind(old.app_id(service), reads_old)
            if time.monotonic() - last >= every_s:
                say(f"generation {current + 1}: {behind:,} records behind "
                    f"(generation {current}: {live_behind:,})")
                last = time.monotonic()
            if behind <= live_behind + margin and _ready(port, host):
                break
            time.sleep(1)
        generations.switch(settings, service, current + 1)
        say(f"Generation {current + 1} of {service} is live. The workers of generation "
            f"{current} stop on their own; start them again (compose and systemd do) and they "
            f"join generation {current + 1}.")
        while _members(admin, old.app_id(service)):
            time.sleep(1)
        say(f"Generation {current}'s workers have stopped.")
        if remove_old:
            # Only once the new generation has committed past every offset of the old one:
            # its workers then need the old group's offsets no more
            # (runtime.faust_runner.generations).
            shared = set(reads_new) & set(reads_old)
            if not _past(admin, new.app_id(service), old.app_id(service), shared):
                say(f"Waiting for generation {current + 1} to process every record generation "
                    f"{current} had, before removing it.")
                while not _past(admin, new.app_id(service), old.app_id(service), shared):
                    time.sleep(1)
            gone = old_topics(old, service, set(admin.list_topics()))
            admin.delete_groups([old.app_id(service)])
            if gone:
                admin.delete_topics(gone)
            say(f"Removed generation {current}: group {old.app_id(service)}, topics "
                f"{', '.join(gone) or 'none'}.")
        waited = time.monotonic()
        while _members(admin, new.app_id(service)) < 2:
            if worker.poll() is not None:
                raise RuntimeError(f"generation {current + 1}'s worker exited "
                                   f"({worker.returncode}) with no other worker in its place; "
                                   f"start the {service} workers (they join it)")
            if time.monotonic() - waited >= 60:
                say(f"Waiting for a worker of {service} to join generation {current + 1} "
                    "(start them again); this one serves until then.")
                waited = time.monotonic()
            time.sleep(1)
        say(f"A worker has joined generation {current + 1}; this one hands over and stops.")
        worker.terminate()
        worker.wait(timeout=120)
        worker = None
        return current + 1
    finally:
        if worker is not None and worker.poll() is None:
            say(f"Stopping generation {current + 1}'s worker started here.")
            worker.terminate()
            worker.wait(timeout=120)
        probe.close()
        admin.close()

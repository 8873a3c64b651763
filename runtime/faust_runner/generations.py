"""Generations of a service's state, for a rebuild without downtime (``inspections rebuild``).

A generation is a consumer group, changelogs and internal topics of the service's own
(``Settings.app_id``, ``topics.name``: generation 0 has the plain names, generation n the
suffix ``-g<n>``). Which one is live is kept per service in ``inspections.generations`` (one
compacted partition, key the service, value ``{"generation": n}``); a worker runs the live one
unless told another.

A worker of a generation that is not live yet (catching up beside the live one) derives
everything, keeps its state, but publishes nothing the live generation has already published:
a public record derived from an input record below the live group's committed offset of that
partition is left out (``Quiet``). Once its generation is live and the old workers gone,
those offsets stop moving and it publishes everything after them. A worker whose generation
is no longer live stops, so that its supervisor starts it again in the live one.
"""

from __future__ import annotations

import json

from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing import kafka


class Pointer:
    """Reads ``inspections.generations`` (one consumer, kept for every look)."""

    def __init__(self, settings: Settings) -> None:
        from kafka import TopicPartition

        self.consumer = kafka.consumer(settings, client_id="inspections-generations")
        self.topic = topics.name(settings, topics.GENERATIONS)
        self.tp = TopicPartition(self.topic, 0)
        self.assigned = False

    def live(self, service: str) -> int:
        """The live generation of ``service`` (0 when none was ever switched, or on a
        deployment made before generations)."""
        if not self.assigned:
            if self.topic not in self.consumer.topics():
                return 0
            self.consumer.assign([self.tp])
            self.assigned = True
        self.consumer.seek_to_beginning(self.tp)
        end = self.consumer.end_offsets([self.tp])[self.tp]
        found = 0
        while self.consumer.position(self.tp) < end:
            for record in self.consumer.poll(timeout_ms=1000).get(self.tp, []):
                if record.key == service.encode() and record.value:
                    found = next_generation(found, record.value, record.offset, service)
        return found

    def close(self) -> None:
        self.consumer.close()


def next_generation(live: int, value: bytes, offset: int, service: str) -> int:
    """The live generation after a record of the pointer: ``{"generation": n}`` with n the
    live one or the next (what ``switch`` writes). Anything else (a forged or broken record)
    changes nothing: it is skipped, counted and logged."""
    try:
        found = json.loads(value)
        generation = found["generation"] if isinstance(found, dict) else None
    except (ValueError, UnicodeDecodeError):
        generation = None
    if type(generation) is int and generation in (live, live + 1):
        return generation
    from runtime.plumbing import logs, metrics

    metrics.RECORDS_SKIPPED.labels(service, topics.GENERATIONS, "unreadable").inc()
    logs.get(__name__).error(
        "generations record skipped: a generation is an integer, the live one or the next",
        service=service, offset=offset, live=live, value=value[:100].decode("utf-8", "replace"))
    return live


def live(settings: Settings, service: str) -> int:
    """The live generation of ``service``."""
    pointer = Pointer(settings)
    try:
        return pointer.live(service)
    finally:
        pointer.close()


def switch(settings: Settings, service: str, generation: int) -> None:
    """Make ``generation`` the live one of ``service``."""
    producer = kafka.producer(settings, client_id="inspections-generations")
    try:
        producer.send(topics.name(settings, topics.GENERATIONS), key=service.encode(),
                      value=json.dumps({"generation": generation}).encode()).get(timeout=30)
    finally:
        producer.close()


def of(settings: Settings, generation: int) -> Settings:
    return settings.model_copy(update={"generation": generation})


class Quiet:
    """Which public records a worker leaves out: for a generation started beside the live
    one, those derived from an input record the live generation has processed (below its
    group's committed offset of that partition, which only grows). An input record at or
    past it waits, undecided, until the live generation has processed it too, or until this
    generation is live and the old group empty (its offsets final): then it is this
    generation's to publish. So nothing is published twice, and nothing left out.

    A record of the generation's own internal topics (``own``: the scheduler's crossings) has
    no place in the live group's offsets: what derives from it is published (a campaign
    breach the live generation published too is a same-id copy; none is lost)."""

    def __init__(self, live_group: str | None, own: frozenset[str] = frozenset()) -> None:
        self.live_group = live_group
        self.own = own
        self.committed: dict[tuple[str, int], int] = {}
        self.final = live_group is None  # the old group's offsets will not move again
        self.is_live = live_group is None  # its generation live (``Watch`` keeps it so)

    def decide(self, topic: str, partition: int, offset: int) -> bool | None:
        """True: leave it out; False: publish it; None: not known yet."""
        if topic in self.own:
            return False
        if offset < self.committed.get((topic, partition), 0):
            return True
        return False if self.final else None

    async def left_out(self, messages) -> set[tuple[str, int, int]]:
        """The places of ``messages`` whose public records are left out, once each is
        decided (waiting for the live generation's progress, see ``Watch``)."""
        import asyncio

        if self.live_group is None:
            return set()
        out = set()
        for m in messages:
            while (decided := self.decide(m.topic, m.partition, m.offset)) is None:
                await asyncio.sleep(0.5)
            if decided:
                out.add((m.topic, m.partition, m.offset))
        return out

    def refresh(self, admin) -> None:
        """Fetch the live group's committed offsets (blocking: run it in a thread)."""
        if self.live_group is None:
            return
        found = admin.list_group_offsets([self.live_group]).get(self.live_group) or {}
        offsets = {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()
                   if meta.offset is not None and meta.offset >= 0}
        if offsets:  # a group removed keeps its last offsets
            self.committed = offsets

    def members(self, admin) -> int:
        from kafka.errors import KafkaError

        try:
            found = admin.describe_groups([self.live_group]).get(self.live_group) or {}
        except KafkaError:
            return 0
        return len(found.get("members") or ())


class Watch:
    """A worker's eye on the generations, every ``every_s``: the live group's committed
    offsets for its ``Quiet``, and whether its own generation is still live (when a later
    one is, it stops: started again, it joins that one)."""

    def __init__(self, settings: Settings, service: str, quiet: Quiet) -> None:
        self.settings, self.service, self.quiet = settings, service, quiet
        self.admin = self.pointer = None

    def look(self) -> int:
        """The live generation now, and the live group's progress for ``Quiet`` (blocking:
        run it in a thread)."""
        if self.pointer is None:
            self.pointer = Pointer(self.settings)
        now = self.pointer.live(self.service)
        quiet = self.quiet
        if quiet.live_group is not None and not quiet.final:
            if self.admin is None:
                self.admin = kafka.admin(self.settings, client_id="inspections-generations")
            # Live and the old group empty: the offsets read after that are its last.
            last = now == self.settings.generation and not quiet.members(self.admin)
            quiet.refresh(self.admin)
            quiet.final = last
        return now

    def attach(self, app, every_s: float = 2.0) -> None:
        """Look every ``every_s``; when a later generation is live, stop (faust's stop
        finishes the batch in hand and commits it)."""
        import asyncio
        import os
        import signal

        from runtime.plumbing import logs

        log = logs.get(__name__)

        @app.timer(interval=every_s)
        async def watch_generations() -> None:
            try:
                now = await asyncio.get_running_loop().run_in_executor(None, self.look)
            except Exception as exc:  # the broker away: look again next time
                log.warning("generations not read", error=str(exc)[:200])
                return
            self.quiet.is_live = now == self.settings.generation
            if now > self.settings.generation:
                log.warning("a later generation is live: this worker stops; started again, "
                            "it joins that one", generation=self.settings.generation,
                            live=now)
                os.kill(os.getpid(), signal.SIGTERM)


def starting(settings: Settings, service: str,
             generation: int | None) -> tuple[int, Quiet | None]:
    """For a worker starting: the live generation, and the ``Quiet`` of the generation it
    runs (``generation``, or the live one) against the one before it: a rebuild's, catching
    up, and a worker started again in a new generation while the rebuild's is still behind
    the old one, both leave out what the old generation published."""
    now = live(settings, service)
    mine = now if generation is None else generation
    if mine == 0:
        return now, None
    own = frozenset(topics.name(of(settings, mine), t) for t in topics.INTERNAL)
    quiet = Quiet(of(settings, mine - 1).app_id(service), own)
    admin = kafka.admin(settings, client_id="inspections-generations")
    try:
        quiet.final = mine == now and not quiet.members(admin)
        quiet.refresh(admin)  # after the members: final offsets if the group is empty
    finally:
        admin.close()
    quiet.is_live = mine == now
    return now, quiet

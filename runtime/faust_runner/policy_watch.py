"""The city's policy as a worker runs it, from the log (``policy.adopted``, in each partition
from its place on; ``kernel.policy_log``):

- ``/policy``: the policy in force in the partitions this worker holds (the latest adopted
  there, or, before the log's first, the worker's starting policy: its settings and policy
  file), the history of adopted policies, and whether the starting policy differs from the
  log's;
- once the worker has caught up with a partition it holds, it compares its starting policy
  with the log's: a difference is a warning (the log's is in force; ``inspections policy
  adopt FILE`` adopts the file); and a service declared ``adopts_policy`` (the scheduler),
  on the group's leader, adopts its starting policy into a log that holds no event yet, dated
  at the start of the contract's time (in force from the start: an adoption may not be dated
  before the newest time on its partition, and a campaign published after it, in the past or
  not, may adopt another at its own times). A log that holds events and no policy is left
  as it is, with a warning saying how to adopt one: dated by the worker, an adoption could
  land behind events published at the same moment and be refused there.
"""

from __future__ import annotations

from datetime import datetime, timezone

from kernel.policy_log import Adopted, digest
from runtime.config import policy as city
from runtime.config import topics
from runtime.faust_runner import faust_internals
from schemas.envelope import policy_events
from schemas.fields import FIRST_YEAR

CHECK_EVERY_S = 5.0
SOURCE = "urn:inspections:policy:worker"


def history(adopted: Adopted | None) -> list[dict]:
    return [] if adopted is None else [
        {"policy_id": a.policy_id, "digest": a.digest, "time": a.time.isoformat(),
         "event_id": a.event_id, "source": a.source, "note": a.note, "actor": a.actor}
        for a in adopted.history]


def latest(found: list[Adopted]) -> Adopted | None:
    """Of the partitions' adoptions, the one that has come furthest (all partitions get every
    adoption, in the same order)."""
    return max(found, key=lambda a: (len(a.history), a.current.time), default=None)


def answer(adopted: Adopted | None, starting: city.CityPolicy) -> dict:
    """``/policy``: the policy in force (``adopted``'s, or the ``starting`` one before the
    log's first) in the policy file's form, its digest, the history of adoptions, and how the
    starting policy compares."""
    form = city.as_dict(starting)
    mine = {"source": starting.source, "digest": digest(form)}
    if adopted is None:
        return {"source": starting.source, **form, "digest": mine["digest"], "adopted": None,
                "history": [], "starting": {**mine, "differs": False}}
    now = adopted.current
    return {"source": f"adopted in the log as {now.policy_id} at {now.time.isoformat()}",
            **adopted.policy, "digest": now.digest, "adopted": history(adopted)[-1],
            "history": history(adopted),
            "starting": {**mine, "differs": now.digest != mine["digest"]}}


def attach(worker) -> None:
    settings = worker.settings
    starting = city.load(settings)
    data, starting_digest = city.adoption(starting, starting.source,
                                          note="the workers' starting policy")
    store = worker.stores.get("policies")

    def here() -> Adopted | None:
        return None if store is None else latest(
            [a for p in worker.active_partitions() if (a := store.get(str(p))) is not None])

    @worker.page("/policy")
    async def policy_page(web, request):
        return web.json(answer(here(), starting))

    if store is None:
        return
    checked = {"done": False}

    @worker.app.timer(interval=CHECK_EVERY_S)
    async def policy_check() -> None:
        if checked["done"] or not worker.quiet.is_live:
            return
        held = worker.active_partitions()
        if not held or not await caught_up(worker, held[0]):
            return
        checked["done"] = True
        adopted = store.get(str(held[0]))
        if adopted is not None:
            if adopted.current.digest != starting_digest:
                worker.log.warning(
                    "this worker's policy differs from the one the log adopted: the log's is "
                    "in force; `inspections policy adopt FILE` adopts a policy file",
                    starting=starting.source, starting_digest=starting_digest,
                    adopted=adopted.current.policy_id, adopted_digest=adopted.current.digest)
            return
        if not (worker.service.adopts_policy and settings.adopt_starting_policy
                and worker.app.is_leader()):
            return
        if not await log_empty(worker):
            worker.log.warning(
                "the log holds events and no policy: the workers run their starting policy "
                "with no record of it in the log; adopt it (or the city's) with `inspections "
                "policy adopt FILE`, so that replay and audit apply the same",
                starting=starting.source)
            return
        at = datetime(FIRST_YEAR, 1, 1, tzinfo=timezone.utc)
        events = worker.topics[topics.EVENTS]
        for partition, raw in policy_events(data, starting_digest, at,
                                            range(settings.partitions), SOURCE):
            await events.send(value=raw, partition=partition)
        worker.log.info("the log held no policy: this worker's starting policy adopted into "
                        "it", policy_id=starting_digest, source=starting.source)


async def log_empty(worker) -> bool:
    """Whether no partition of the inbound topic holds a record."""
    from faust.types import TP

    tps = [TP(worker.events_topic, p) for p in range(worker.settings.partitions)]
    ends = await faust_internals.end_offsets(worker.app, tps)
    return all(ends.get(tp) == 0 for tp in tps)


async def caught_up(worker, partition: int) -> bool:
    """Whether the worker has processed every record of ``partition`` of the inbound topic
    that was there when asked."""
    from faust.types import TP

    tp = TP(worker.events_topic, partition)
    end = (await faust_internals.end_offsets(worker.app, [tp])).get(tp)
    if end is None:
        return False
    done = worker.host.observer.progress.next_offset.get((worker.events_topic, partition))
    if done is None:
        done = faust_internals.committed_offsets(worker.app).get(tp)
    return end == 0 or (done is not None and done >= end)


"""Each partition's records in offset order, none skipped, within a consumer generation."""

from __future__ import annotations

import time

from runtime.faust_runner import faust_internals
from runtime.plumbing import logs


class InOrder:
    """Each partition's records in offset order, none skipped, within a consumer generation.

    faust 0.15 can skip the first records of a partition after a rebalance or a restart:
    records fetched before its seek to the committed offset are still delivered after it,
    move its read offset past the committed one, and so make it drop the records fetched
    again (seen after kill -9 and in the scale-out test). A record past the next expected
    offset makes a seek back to it; records already taken are dropped, and so are those
    fetched before the seek (they come again after it). If nothing has come back in
    ``RESEEK_S`` (the same race can drop the records of this seek, and none may follow
    them), ``reseek_overdue`` seeks again. If the record that comes first after a seek is
    still past the expected offset, the offsets between hold no record (a transaction
    marker, a compacted record): so be it.

    The same race can leave a partition's last records undelivered with none after them to
    show the gap: when the stream has taken nothing for ``IDLE_S`` while a partition it owns
    has records past its next expected offset, ``seek_stalled`` seeks back there. A partition
    the consumer has not fetched since a rebalance (faust #629: after a member's restart, a
    worker's partitions may get no fetch at all) has no known end: the broker is asked.

    faust counts the offsets of its ``_gap`` intervals as acked, and adds one wherever its
    read offset jumps, a seek's included: it could then commit records not yet processed.
    Only the gaps this class has found empty are left to it (``keep_gaps_from``).
    """

    RESEEK_S = 10.0
    IDLE_S = 10.0

    def __init__(self, app, topics: set[str] | None = None) -> None:
        self.app = app
        self.topics = topics or set()  # the stream's: where a stalled partition is looked for
        self.generation = None
        self.expected: dict = {}   # tp -> next offset to take
        self.seeking: dict = {}    # tp -> (offset sought, record that showed the gap, when)
        self.last_taken = time.monotonic()

    async def admits(self, message) -> bool:
        app = self.app
        if app.consumer_generation_id != self.generation:
            self._adopt(app.consumer_generation_id)
        tp, offset = message.tp, message.offset
        want = self.expected.get(tp)
        if want is None:
            want = faust_internals.committed_offsets(self.app).get(tp)  # as faust sought
            if want is None or want > offset:
                want = offset
        if offset < want:
            return False  # taken already (a record fetched twice around a seek)
        if offset > want:
            sought = self.seeking.get(tp)
            if sought is None:
                await self._seek_back(tp, want, offset)
                return False
            _, shown, _ = sought
            if offset > shown:
                return False  # fetched before the seek: it comes again after it
            # First after the seek and still past ``want``: no record in between.
        self.seeking.pop(tp, None)
        # Records are still to come from ``want`` on; those before ``offset`` hold none.
        faust_internals.keep_gaps_from(app, tp, want, offset)
        self.expected[tp] = offset + 1
        self.last_taken = time.monotonic()
        return True

    def _adopt(self, generation) -> None:
        self.generation = generation
        self.expected.clear()
        self.seeking.clear()

    async def reseek_overdue(self) -> None:
        """Seek again where a seek has brought nothing back in ``RESEEK_S``."""
        if self.app.consumer_generation_id != self.generation:
            return  # a rebalance: faust seeks to the committed offsets itself
        now = time.monotonic()
        for tp, (want, shown, when) in list(self.seeking.items()):
            if now - when > self.RESEEK_S:
                await self._seek_back(tp, want, shown)

    async def seek_stalled(self) -> None:
        """Seek back where a partition of the stream holds records past its next expected
        offset while the stream has taken nothing for ``IDLE_S`` (call it when the stream's
        buffer is empty). After a rebalance that brought no record yet, the next expected
        offset is where faust sought (the committed one, or the log's first)."""
        now = time.monotonic()
        if now - self.last_taken < self.IDLE_S:
            return
        self.last_taken = now  # looked once every IDLE_S
        app = self.app
        assignor = getattr(app, "assignor", None)
        if assignor is None or not faust_internals.settled(app):
            return
        if app.consumer_generation_id != self.generation:
            self._adopt(app.consumer_generation_id)  # nothing taken since the rebalance
        mine = [tp for tp in assignor.assigned_actives()
                if tp.topic in self.topics and tp not in self.seeking]
        if not mine:
            return
        try:  # a partition never fetched since the rebalance (faust #629): the broker says
            ends = await faust_internals.end_offsets(app, mine)
        except Exception as error:  # asked again in IDLE_S
            logs.get(__name__).warning("end offsets not known", error=str(error)[:300])
            return
        wants = {tp: self.expected.get(tp) for tp in mine}
        wants.update({tp: faust_internals.committed_offsets(app).get(tp)
                      for tp, want in wants.items() if want is None})
        never = [tp for tp, want in wants.items() if want is None and ends.get(tp)]
        if never:  # never committed (or at 0): the group reads it from its first record
            try:
                wants.update(await faust_internals.first_offsets(app, never))
            except Exception as error:  # asked again in IDLE_S
                logs.get(__name__).warning("first offsets not known", error=str(error)[:300])
        for tp in mine:
            end, want = ends.get(tp), wants.get(tp)
            if end and want is not None and end > want:
                self.expected[tp] = want
                await self._seek_back(tp, want, end - 1)

    async def _seek_back(self, tp, want: int, shown: int) -> None:
        self.seeking[tp] = (want, shown, time.monotonic())
        logs.get(__name__).warning("records skipped by the consumer: seeking back",
                                   topic=tp.topic, partition=tp.partition,
                                   expected=want, got=shown)
        await faust_internals.seek_back(self.app, tp, want)

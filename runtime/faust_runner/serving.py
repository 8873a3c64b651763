"""A faust worker's pages: each view its service declares (``kernel.topology.View``), served
from the declaration. By the view's scope: the unit's owner answers (``UNIT``), every worker
of the group answers for its own partitions and this one puts them together (``EVERY``), or
the owner of the cross-partition side answers (``SIDE``); a bad request is a 400 naming what
is wrong, a view that is not there a 404 naming what was asked for. The view's functions are
the ones a replay and the in-memory runner call (``runtime.memory_runner.reading``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kernel.due import latest
from kernel.topology import EVERY, SIDE, UNIT, Asked, Service, View
from runtime.faust_runner.units import Index
from runtime.plumbing.http import json_or_404


class WorkerShelf:
    """A worker's stores over some of its partitions, as a view reads them."""

    def __init__(self, worker, partitions: list[int]) -> None:
        self.stores, self.partitions = worker.stores, partitions
        self.holds_side = worker.owns_side
        self.timelines = next((worker.stores[s.name] for s in worker.service.stores
                               if s.kind == "timelines"), None)

    def unit(self, store: str, unit_id: str) -> Any:
        return self.stores[store].get(unit_id)

    def holder(self, store: str, field: str, ident: str) -> Any:
        units = self.stores[store]
        unit_id = units.unit_of(self.partitions, field, ident)
        return None if unit_id is None else units.get(unit_id)

    def units(self, store: str) -> Iterator[Any]:
        units = self.stores[store]
        for p in self.partitions:
            for unit_id in units.units_in(p):
                if (state := units.get(unit_id)) is not None:
                    yield state

    def entries(self, store: str) -> Iterator[tuple[str, Any]]:
        values = self.stores[store]
        for p in self.partitions:
            if isinstance(values, Index):
                yield from values.items_in(p)
                continue
            for name in values.names_in(p):
                if (value := values.get(name)) is not None:
                    yield name, value

    def side(self, store: str) -> Mapping[str, Any] | None:
        return self.stores[store] if self.holds_side() else None

    def stream_time(self) -> Any:
        if self.timelines is None:
            return None
        return latest(t.stream_time for p in self.partitions
                      if (t := self.timelines.get(p)) is not None)


def serve_views(worker, service: Service, past=None) -> None:
    """Each declared view of ``service`` as a page of ``worker``'s app; with ``past`` (a
    ``runtime.replay_runner.as_of.PastStates``), each answers ``?as_of=`` a past time too."""
    if not service.views:
        return
    model = service.read_model(worker.settings)
    for view in service.views:
        _page(worker, service, view, model, past)


def _page(worker, service: Service, view: View, model: Any, past) -> None:
    def refused(web, exc: ValueError):
        return web.json({"error": str(exc)}, status=400)

    def answered(web, value, asked: Asked):
        return json_or_404(web, value, view.what_is_missing(asked.params))

    if view.scope == EVERY:
        async def page(web, request, **params):
            asked = Asked(params, request.query)

            def local(partitions: list[int]) -> list:
                return view.local(model, WorkerShelf(worker, partitions), asked)

            def answer(found: list):
                try:
                    return answered(web, view.answer(model, found, asked), asked)
                except ValueError as exc:
                    return refused(web, exc)

            try:
                return await worker.gather(web, request, local, answer)
            except ValueError as exc:  # this worker's own part refused it: no other asked
                return refused(web, exc)
    elif view.scope in (UNIT, SIDE):
        async def page(web, request, **params):
            asked = Asked(params, request.query)
            shelf = WorkerShelf(worker, worker.active_partitions())
            try:
                found = view.local(model, shelf, asked)
                if view.rows is not None:
                    unit_view = service.view(view.rows)
                    rows = await worker.by_units(
                        request, [u for _, ids in found for u in ids],
                        worker.prefix + unit_view.path.replace("{unit_id}", "{}"),
                        lambda unit_id: _answer_here(unit_view, model, shelf, unit_id))
                    asked = Asked(params, request.query, rows)
                value = view.answer(model, found, asked)
            except ValueError as exc:
                return refused(web, exc)
            return answered(web, value, asked)

        page = (worker.by_unit() if view.scope == UNIT else worker.on_side())(page)
    else:
        raise ValueError(f"{service.name}: view {view.name} has no scope {view.scope!r}")
    now = page

    async def either(web, request, **params):
        """The view now, or (``?as_of=``) as it was then: any worker answers that one."""
        if "as_of" not in request.query or past is None:
            return await now(web, request, **params)
        return await _as_of(web, request, past, service, view, params)

    either.__name__ = either.__qualname__ = f"{view.name}_view"
    either.__doc__ = view.answer.__doc__ or view.local.__doc__
    worker.page(view.path, name=f"{service.name}.{view.name}")(either)


async def _as_of(web, request, past, service: Service, view: View, params: dict):
    """A view as of a past time (``past.ask``, which may wait half a second: in a thread)."""
    import asyncio

    query = dict(request.query)
    status, value, headers = await asyncio.get_running_loop().run_in_executor(
        None, past.ask, query.pop("as_of"), service.name, view, params, query)
    return web.json(value, status=status, headers=headers)


def _answer_here(view: View, model: Any, shelf, unit_id: str) -> Any:
    """A ``UNIT`` view's answer for a unit of this worker's (None: it has none)."""
    asked = Asked({"unit_id": unit_id}, {})
    return view.answer(model, view.local(model, shelf, asked), asked)

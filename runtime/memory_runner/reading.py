"""The declared views (``kernel.topology.View``) answered in memory: over a service run by the
in-memory runner (``runtime.memory_runner.memory``), as a worker answers them over HTTP
(``runtime.faust_runner.serving``), and written whole by a replay (``views_of``).

A view's functions are pure; what is a runner's is only where its state is (a ``Shelf``),
and how the parts' answers meet: here, one process holds every part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from kernel.due import latest
from kernel.topology import Asked, Service, View
from runtime.memory_runner.stores import Timelines


class MemoryShelf:
    """A service's state in memory (a ``Running``'s stores) as its views read it; the
    cross-partition side only where ``holds_side`` (a replay's parts do not hold it)."""

    def __init__(self, stores: Mapping[str, Any], holds_side: bool = True) -> None:
        self.stores, self.holds_side = stores, holds_side

    def unit(self, store: str, unit_id: str) -> Any:
        return self.stores[store].get(unit_id)

    def holder(self, store: str, field: str, ident: str) -> Any:
        # A scan: one id asked of a state in memory; a replay lists them all with ``each``.
        return next((s for s in self.stores[store].values() if ident in getattr(s, field)),
                    None)

    def units(self, store: str) -> Iterator[Any]:
        return iter(self.stores[store].values())

    def entries(self, store: str) -> Iterator[tuple[str, Any]]:
        return iter(self.stores[store].items())

    def side(self, store: str) -> Mapping[str, Any] | None:
        return self.stores[store] if self.holds_side else None

    def stream_time(self) -> Any:
        timelines = next((s for s in self.stores.values() if isinstance(s, Timelines)), None)
        return None if timelines is None else latest(t.stream_time for t in timelines.values())


# -- one view, one request ---------------------------------------------------------------
@lru_cache(maxsize=256)
def _pattern(path: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + r"\Z")


def matching(service: Service, path: str) -> tuple[View, dict[str, str]] | None:
    """The declared view of ``service`` at ``path`` and its params; None when none is."""
    for view in service.views:
        if (found := _pattern(view.path).match(path)) is not None:
            return view, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def answer(view: View, model: Any, shelf, asked: Asked, rows_of=None) -> tuple[int, Any]:
    """A view's answer over one shelf holding every part it needs: (200, the view), (404,
    an error naming what is missing) or (400, an error naming what is wrong).
    ``rows_of(unit_ids)``: the rows a ``View.rows`` view shows."""
    try:
        found = view.local(model, shelf, asked)
        if view.rows is not None:
            ids = [u for _, unit_ids in found for u in unit_ids]
            asked = Asked(asked.params, asked.query, rows_of(ids))
        value = view.answer(model, found, asked)
    except ValueError as exc:
        return 400, {"error": str(exc)}
    if value is None:
        return 404, {"error": f"{view.what_is_missing(asked.params)} not found"}
    return 200, value


class Answering:
    """Every declared view of a ``System`` run in memory (``runtime.memory_runner.memory.Memory``),
    answered as the workers answer them: ``get("/escalations?level=2")``."""

    def __init__(self, memory, settings) -> None:
        self.memory, self.settings = memory, settings
        self.models = {s.name: s.read_model(settings) for s in memory.system
                       if s.read_model is not None}

    def shelf(self, service: str) -> MemoryShelf:
        return MemoryShelf(self.memory.stores(service))

    def get(self, service: str, target: str) -> tuple[int, Any]:
        """``service``'s answer to a GET of ``target`` (a path and query)."""
        declared = self.memory.system.service(service)
        parts = urlsplit(target)
        found = matching(declared, parts.path)
        if found is None:
            return 404, {"error": f"{service} has no view at {parts.path}"}
        view, params = found
        return self.view(service, view, params, dict(parse_qsl(parts.query)))

    def view(self, service: str, view: View, params: Mapping[str, str],
             query: Mapping[str, str]) -> tuple[int, Any]:
        model = self.models[service]
        declared = self.memory.system.service(service)
        return answer(view, model, self.shelf(service), Asked(params, query),
                      lambda ids: self.rows(declared, view.rows, ids))

    def rows(self, declared: Service, name: str, unit_ids: list[str]) -> dict[str, Any]:
        view = declared.view(name)
        found = {}
        for unit_id in unit_ids:
            status, value = self.view(declared.name, view, {"unit_id": unit_id}, {})
            if status == 200:
                found[unit_id] = value
        return found

    def whole(self, service: str, name: str, query: Mapping[str, str] | None = None) -> Any:
        """A list view's answer with every page (``next_cursor`` followed)."""
        view = self.memory.system.service(service).view(name)
        query = dict(query or {})
        status, value = self.view(service, view, {}, query)
        if status != 200:
            raise ValueError(value["error"])
        listed = next(k for k, v in value.items() if isinstance(v, list))
        while value.get("next_cursor"):
            status, more = self.view(service, view, {}, {**query,
                                                         "cursor": value["next_cursor"]})
            value = {**more, listed: value[listed] + more[listed]}
        value.pop("next_cursor", None)
        return value


# -- every view a replay writes --------------------------------------------------------
def written(service: Service) -> tuple[View, ...]:
    """The views of ``service`` a replay writes (those that name a ``file``)."""
    return tuple(v for v in service.views if v.file is not None)


def views_of(memory, settings) -> dict[str, dict[str, Any]]:
    """Every written view of a ``System`` run whole in memory, by file and id (sorted)."""
    answering = Answering(memory, settings)
    found: dict[str, dict[str, Any]] = {}
    for service in memory.system:
        model = answering.models.get(service.name)
        shelf = answering.shelf(service.name)
        for view in written(service):
            items: dict[str, list] = {}
            for ident, item in view.each(model, shelf):
                items.setdefault(ident, []).append(item)
            rows = None
            if view.rows is not None:
                ids = [u for listed in items.values() for _, unit_ids in listed
                       for u in unit_ids]
                rows = answering.rows(service, view.rows, ids)
            views = {}
            for ident in sorted(items):
                value = (items[ident][0] if view.whole is None
                         else view.whole(model, ident, items[ident], rows))
                if value is not None:
                    views[ident] = value
            found[view.file] = views
    return found


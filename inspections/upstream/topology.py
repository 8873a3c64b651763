"""The services' topology as the README shows it: each service's reads (topic → handler),
writes (kind of fact → topic) and stores, rendered from the declarations (a test holds the
README to them)."""

from __future__ import annotations

from kernel.topology import Service, Store, System


def _kind(kind) -> str:
    return getattr(kind, "__name__", None) or " \\| ".join(k.__name__ for k in kind.__args__)


def _kept(store: Store) -> str:
    if store.entities:
        return f" ({', '.join(store.entities)} a key each)"
    if store.kind == "index":
        return f" (derived from `{store.of}`, never written)"
    if store.of is not None:
        return f" (less what `{store.of}` shows)"
    return ""


def row(service: Service) -> str:
    reads = "; ".join(
        f"`{r.topic}` → `{r.handler.__name__}`" + (" (through the gate)" if r.contract else "")
        + ("" if r.partitioned else " (one partition)") + (" (not its own)" if r.skip_source
                                                           else "")
        for r in service.reads)
    writes = "; ".join(f"{_kind(w.kind)} → " + (f"`{w.topic}`" if w.topic else "counted, logged")
                       for w in service.writes)
    if service.publishes_rejections:
        writes += "; records the gate refuses → `inspections.rejected`"
    stores = ", ".join(f"`{s.name}`" + _kept(s) + ("" if s.partitioned else " (side)")
                       for s in service.stores)
    return f"| {service.name} | {reads} | {writes} | {stores} |"


def table(system: System) -> list[str]:
    return ["| service | reads (topic → handler) | writes (fact → topic) | keeps |",
            "| --- | --- | --- | --- |", *(row(s) for s in system)]

"""The city's policies as the log adopted them (``policy.adopted``, sent to every partition):
each partition keeps the one in force from its place in the log on, and the history of those
adopted before (newest last, the last ``kernel.capacity.POLICIES``). Before the log's first,
a worker runs its starting policy (its settings and policy file).

Pure: standard library only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def digest(policy: dict[str, Any]) -> str:
    """A policy's content, as a short digest of its canonical JSON: two adoptions of the same
    policy have the same digest whatever their names."""
    text = json.dumps(policy, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Adoption:
    """One ``policy.adopted`` as a partition applied it."""

    policy_id: str
    digest: str
    time: datetime  # when it was adopted (the event's time)
    event_id: str
    source: str | None = None
    note: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Adopted:
    """A partition's policy in force (``policy``, in the policy file's form) and the
    adoptions that brought it and those before."""

    policy: dict[str, Any]
    history: tuple[Adoption, ...]

    @property
    def current(self) -> Adoption:
        return self.history[-1]


def adopt(before: Adopted | None, policy: dict[str, Any], adoption: Adoption,
          kept: int) -> Adopted:
    """``before`` with ``policy`` in force from ``adoption`` on. An adoption already applied
    (its event id in the history: delivered again after a restart) changes nothing."""
    if before is not None and any(a.event_id == adoption.event_id for a in before.history):
        return before
    history = (before.history if before is not None else ()) + (adoption,)
    return Adopted(policy, history[-kept:])


STORE = "policies"  # the store of a flow that keeps each partition's ``Adopted``


class PolicyCores:
    """A flow's core for the policy in force in each partition: ``make(policy)`` for the
    starting policy before the partition's first adoption, and for each one adopted after
    (``policies.of(adopted)``, built once by digest). ``policies`` (``runtime.config.policy
    .Policies``) also turns a ``policy.adopted`` into the partition's ``Adopted``; without it
    the flow runs its starting policy alone and refuses adoptions."""

    def __init__(self, starting: Any, policies: Any, make: Any) -> None:
        self.policies, self.make = policies, make
        self.starting = make(starting)
        self._made: dict[str, Any] = {}

    def at(self, ctx) -> Any:
        """The core for the policy in force in the record's partition."""
        if self.policies is None:
            return self.starting
        adopted = ctx.store(STORE).get(str(ctx.partition))
        if adopted is None:
            return self.starting
        core = self._made.get(adopted.current.digest)
        if core is None:
            core = self._made[adopted.current.digest] = self.make(self.policies.of(adopted))
        return core

    def adopt(self, ctx, event: Any) -> None:
        """``event`` (a ``policy.adopted``) in force in the record's partition from here on."""
        if self.policies is None:
            raise ValueError("this flow runs its starting policy alone")
        store, here = ctx.store(STORE), str(ctx.partition)
        store[here] = self.policies.adopt(store.get(here), event)

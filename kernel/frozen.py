"""``evolve``: a changed copy of a frozen dataclass, for the pure cores (standard library only).

``dataclasses.replace`` re-runs ``__init__`` through generic field introspection; the cores
copy a state for nearly every event, and there it was a sixth of a replay's time. The
project's frozen dataclasses have no ``__post_init__``, no ``init=False`` fields and no
slots, so copying the instance dictionary gives the same object.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes) -> T:
    """``dataclasses.replace(obj, **changes)``, for frozen dataclasses without
    ``__post_init__``; an unknown field is a TypeError, as there."""
    unknown = changes.keys() - obj.__dataclass_fields__.keys()
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    new = object.__new__(type(obj))
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new

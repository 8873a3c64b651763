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
    fields = obj.__dataclass_fields__
    for name in changes:
        if name not in fields:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    new = _new(type(obj))
    _setattr(new, "__dict__", {**obj.__dict__, **changes})
    return new


_new = object.__new__
_setattr = object.__setattr__  # a frozen dataclass's own refuses: its dict is set whole

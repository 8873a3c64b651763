"""A faust table's mapping of bytes, as the table adapters see it, for their unit tests."""

from __future__ import annotations


class NotingTable(dict):
    """Notes each write (its key) and each delete (``("deleted", key)``), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list = []

    def __setitem__(self, key, value):
        self.writes.append(key)
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.writes.append(("deleted", key))
        super().__delitem__(key)

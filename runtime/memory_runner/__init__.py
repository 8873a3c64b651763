"""The in-memory runner: a ``System`` in one process (``memory``), its stores (``stores``),
and its declared views answered and written (``reading``). It needs no faust."""

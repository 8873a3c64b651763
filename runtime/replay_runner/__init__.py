"""The replay runner: the inbound log through every service at the speed of reading, its
partitions shared among processes (``parts``, each an in-memory runner), the cross-partition
side after them, what they derive and every written view put together (``run``)."""

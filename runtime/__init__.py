"""The runtime: what runs the declared services (``kernel.topology``), in sub-packages by job,
each importing only those below it (``lint-imports`` keeps it):

- ``faust_runner``: a service as a faust worker on Kafka (records in batches, stores in faust
  tables, its declared views served over HTTP); ``replay_runner``: the whole log through every
  service at the speed of reading, partitions in processes of their own (replay, verify);
- ``memory_runner``: a ``System`` in one process (the tests, the benchmark's cores, each of
  the replay's parts), and the declared views answered and written in memory;
- ``handling``: what every runner does with a record alike (the handler's context, the
  partition's clock, packing what crosses partitions, what a fact reports);
- ``plumbing``: Kafka clients, HTTP, tokens, logs, metrics, canonical JSON;
- ``config``: the settings, the city's policy, the topics' names.

The runners share the declaration, one handler context (``handling.context``) and one way to
say "seen" (the ``seen`` store), and answer the same views from it (``memory_runner.reading``,
``faust_runner.serving``); they differ only in where records come from and where state lives.
"""

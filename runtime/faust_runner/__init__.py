"""The faust runner: a declared service as a faust worker on Kafka (``worker``: its agents,
stores and pages; ``applying``, ``batching``, ``ordering``: records in batches, in order,
each applied; ``serving``: its declared views over HTTP; ``observe``: its metrics;
``generations``, ``stopping``, ``stores``, ``rocks``, ``app`` and ``faust_internals``)."""

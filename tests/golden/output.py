"""The golden output of one input: every derived event and every view, in canonical bytes
(sorted by id, canonical JSON), whatever the replay's own file layout."""

from __future__ import annotations

import hashlib


def canonical(records) -> dict[str, bytes]:
    """``derived/<topic>`` and ``views/<kind>`` -> their bytes."""
    from inspections.replay import Pipeline
    from kernel.codec import dumps
    from runtime.settings import Settings

    pipeline = Pipeline(Settings(partitions=8)).run(records)
    out: dict[str, bytes] = {}
    for topic, events in pipeline.derived_by_topic().items():
        events = sorted(events, key=lambda e: e["id"])
        out[f"derived/{topic}"] = b"".join(dumps(e) + b"\n" for e in events)
    for kind, views in pipeline.views().items():
        out[f"views/{kind}"] = b"".join(dumps([name, view]) + b"\n"
                                        for name, view in sorted(views.items()))
    return out


def digests(files: dict[str, bytes]) -> dict[str, str]:
    newline = b"\n"
    return {name: f"{hashlib.sha256(data).hexdigest()} {data.count(newline)} lines"
            for name, data in sorted(files.items())}

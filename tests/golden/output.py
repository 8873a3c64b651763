"""The golden output of one input: every derived event and every view, in canonical bytes
(sorted by id, canonical JSON), whatever the replay's own file layout. Made by the replay's
run (``runtime.replay_runner.run``) over the records, in this process."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

IDS = {"campaigns": "campaign_id", "units": "unit_id", "findings": "finding_id",
       "assessments": "year", "escalations": "escalation_id", "ledgers": "unit_id",
       "status_reports": "campaign_id"}


def canonical(records) -> dict[str, bytes]:
    """``derived/<topic>`` and ``views/<kind>`` -> their bytes."""
    from kernel.codec import dumps
    from runtime.config.settings import Settings
    from runtime.replay_runner.run import Run
    from services import SYSTEM

    with tempfile.TemporaryDirectory() as folder:
        run = Run(SYSTEM, Settings(partitions=8), Path(folder) / "work", records=records)
        try:
            derived = run.derived_files(Path(folder) / "derived")
            run.views(Path(folder) / "views")
        finally:
            run.stop()
        out: dict[str, bytes] = {}
        for topic, path in derived.items():
            events = sorted((json.loads(line) for line in path.read_bytes().splitlines()),
                            key=lambda e: e["id"])
            if events:
                out[f"derived/{topic}"] = b"".join(dumps(e) + b"\n" for e in events)
        for kind, field in IDS.items():
            views = [json.loads(line) for line in
                     (Path(folder) / "views" / f"{kind}.jsonl").read_bytes().splitlines()]
            out[f"views/{kind}"] = b"".join(dumps([str(v[field]), v]) + b"\n"
                                            for v in sorted(views, key=lambda v: str(v[field])))
    return out


def digests(files: dict[str, bytes]) -> dict[str, str]:
    newline = b"\n"
    return {name: f"{hashlib.sha256(data).hexdigest()} {data.count(newline)} lines"
            for name, data in sorted(files.items())}

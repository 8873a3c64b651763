"""Replay and verify speed on N inbound events, next to a plain kafka-python loop that only
reads and JSON-decodes the same records (same run, same broker), and their peak memory.

    .venv/bin/python -m bench.replay_speed [--events 1000000]

Publishes the events to topics of their own (a fresh topic prefix). Replay and verify run as
the `inspections` command a user runs; peak memory is each child's maximum resident set.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.baselines import kafka_python_loop
from bench.events import publish_fresh
from bench.suite import child
from runtime.config import topics
from runtime.config.settings import Settings


def fill_derived(settings: Settings, folder: Path) -> int:
    """The replay's derived events published to the derived topics, keyed as the services
    key them (by unit; a rejection by its record's key), so that verify compares a full log."""
    import base64
    import json

    from runtime.plumbing import kafka

    producer = kafka.producer(settings, client_id="bench-fill", linger_ms=20,
                              batch_size=512_000)
    sent = 0
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, "rb") as lines:
            for line in lines:
                event = json.loads(line)
                key = (event["subject"].encode() if event["type"] != "record.rejected"
                       else (base64.b64decode(event["data"]["key_base64"])
                             if event["data"]["key_base64"] else None))
                producer.send(path.stem, key=key, value=line.rstrip(b"\n"))
                sent += 1
    producer.flush()
    producer.close()
    print(f"published the replay's {sent} derived events to the derived topics",
          file=sys.stderr)
    return sent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--prefix", help="measure an earlier run's topics (no publishing)")
    args = parser.parse_args()
    if args.prefix:
        from runtime.plumbing.kafka import log_size

        settings = Settings(topic_prefix=args.prefix)
        records = log_size(settings, topics.name(settings, topics.EVENTS))
    else:
        settings, records = publish_fresh(args.events,
                                          say=lambda m: print(m, file=sys.stderr))
    prefix = settings.topic_prefix
    events_topic = topics.name(settings, topics.EVENTS)

    plain = kafka_python_loop(settings, events_topic, records)
    env = {**os.environ, "INSPECTIONS_TOPIC_PREFIX": prefix}
    out = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    replay_s, replay_mib, replay_line = child(["replay", "--out", str(out)], env)
    if not args.prefix:  # what the services would have written: verify finds it all
        fill_derived(settings, out / "derived")
    verify_s, verify_mib, verify_line = child(["audit", "verify"], env)
    rate = records / plain
    print(f"{records} inbound records")
    print(f"plain kafka-python read + json.loads: {plain:.1f} s = {rate:.0f} records/s (1.00x)")
    print(f"inspections replay:  {replay_s:.1f} s = {records / replay_s:.0f} records/s "
          f"({records / replay_s / rate:.2f}x), peak {replay_mib:.0f} MiB  [{replay_line}]")
    print(f"inspections audit verify: {verify_s:.1f} s = {records / verify_s:.0f} records/s "
          f"({records / verify_s / rate:.2f}x), peak {verify_mib:.0f} MiB  [{verify_line}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""HTTP ingestion against publishing with a Kafka client, in one run: the bench's events
published by kafka-python (as `inspections publish` does), then the same events posted to
`inspections ingest` in batches, and one at a time.

    .venv/bin/python -m bench.ingest [EVENTS] [BATCH]      (EVENTS 20000, BATCH 500)
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.events import fresh_topics, generate, publish

SECRET = "bench-publisher-secret"


def _post(url: str, body: bytes, content_type: str) -> dict:
    auth = base64.b64encode(f"bench:{SECRET}".encode()).decode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": content_type, "Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    from inspections.accounts.roles import Account
    from inspections.accounts.store import hashed, write
    from schemas.events import INBOUND

    args = argv or sys.argv[1:]
    count = int(args[0]) if args else 20_000
    size = int(args[1]) if len(args) > 1 else 500
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731

    baseline = fresh_topics()
    started = time.monotonic()
    records = publish(baseline, count, say)
    kafka_s = time.monotonic() - started

    settings = fresh_topics()
    home = Path(tempfile.mkdtemp(prefix="inspections-ingest-"))
    accounts = home / "accounts.yaml"
    write(accounts, {"bench": Account("bench", "publisher", password_hash=hashed(SECRET),
                                      types=tuple(INBOUND))})
    port = _free_port()
    env = {**os.environ, "INSPECTIONS_TOPIC_PREFIX": settings.topic_prefix,
           "INSPECTIONS_ACCOUNTS_FILE": str(accounts), "INSPECTIONS_INGEST_PORT": str(port),
           "INSPECTIONS_HOME": str(home), "INSPECTIONS_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "inspections.cli", "ingest"], env=env,
                              stdout=open(home / "ingest.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/events"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        events = [json.loads(value) for _, value in generate(count)]
        started, accepted = time.monotonic(), 0
        for i in range(0, len(events), size):
            answer = _post(url, json.dumps(events[i:i + size], ensure_ascii=False).encode(),
                           "application/cloudevents-batch+json")
            accepted += answer["accepted"]
        batch_s = time.monotonic() - started
        singles = events[:300]
        for e in singles:  # a new id each: published again, one event a request
            e["id"] = e["id"] + "-single"
        started = time.monotonic()
        for e in singles:
            _post(url, json.dumps(e, ensure_ascii=False).encode(),
                  "application/cloudevents+json")
        single_s = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(30)
    print(f"kafka-python publish: {len(events)} events ({records} records, a tick to every "
          f"partition) in {kafka_s:.1f} s, {len(events) / kafka_s:,.0f} events/s")
    print(f"POST /events, batches of {size}: {accepted} events in {batch_s:.1f} s, "
          f"{accepted / batch_s:,.0f} events/s "
          f"({accepted / batch_s / (len(events) / kafka_s):.2f}x the Kafka client)")
    print(f"POST /events, one event a request: {len(singles)} in {single_s:.1f} s, "
          f"{len(singles) / single_s:,.0f}/s, {single_s / len(singles) * 1000:.1f} ms each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

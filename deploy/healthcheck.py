"""The image's HEALTHCHECK (standard library only): healthy when this container's server answers
``/healthz`` — a worker, the operator page or the ingestion, on ``INSPECTIONS_WEB_PORT`` when it
is set, else on any port from ``INSPECTIONS_WEB_PORT_BASE`` (6066) to six after it, where the
project's servers listen by default. Exit 0 healthy, 1 not."""

from __future__ import annotations

import os
import sys
import urllib.request

PORTS_AFTER_BASE = 6  # three services, the operator page, `run all`, the ingestion


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def ports() -> list[int]:
    if os.environ.get("INSPECTIONS_WEB_PORT"):
        return [int(os.environ["INSPECTIONS_WEB_PORT"])]
    base = int(os.environ.get("INSPECTIONS_WEB_PORT_BASE", "6066"))
    return list(range(base, base + PORTS_AFTER_BASE + 1))


if __name__ == "__main__":
    sys.exit(0 if any(answers(port) for port in ports()) else 1)

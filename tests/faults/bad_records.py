"""Random records that break the contract, each of a known kind: what a faulty upstream
system, a wrong client or an attacker could append to ``inspections.events``."""

from __future__ import annotations

import json
import random

from schemas import Rejection, decode
from tests.examples import event

UNITS = ("changtai", "pinghe", "zhangpu", "dongshan", "longhai")
GOOD = ("visit.started", "finding.recorded", "site.inspected", "visit.ended",
        "escalation.acknowledged", "rectification.report.submitted")


def _valid(rng: random.Random, n: int) -> dict:
    body = event(rng.choice(GOOD), id=f"bad-{n}")
    unit = rng.choice(UNITS)
    body["subject"] = unit
    if "unit_id" in body["data"]:
        body["data"]["unit_id"] = unit
    return body


def _text(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def bad_json(rng, n):
    raw = _text(_valid(rng, n))
    return rng.choice(UNITS).encode(), raw[: rng.randrange(1, len(raw) - 1)]


def wrong_types(rng, n):
    body = _valid(rng, n)
    field = rng.choice([*body["data"]] or ["time"])
    body["data"][field] = rng.choice([12345, ["a", "list"], {"an": "object"}, True, "∞"])
    if rng.random() < 0.3:
        body["time"] = rng.choice(["yesterday", 17, "2026-13-45T99:00:00"])
    return body["subject"].encode(), _text(body)


def unknown_type(rng, n):
    body = _valid(rng, n)
    body["type"] = rng.choice(["visit.teleported", "finding.deleted", "", "VISIT.STARTED"])
    return body["subject"].encode(), _text(body)


def bad_version(rng, n):
    body = _valid(rng, n)
    body["dataversion"] = rng.choice([99, "2", -1])
    return body["subject"].encode(), _text(body)


def not_object(rng, n):
    return rng.choice(UNITS).encode(), rng.choice([b"[1, 2, 3]", b"42", b'"a string"', b"null"])


def binary(rng, n):
    return rng.choice([None, rng.randbytes(8)]), b"\xff\xfe" + rng.randbytes(rng.randrange(1, 400))


def empty(rng, n):
    return rng.choice(UNITS).encode(), b""


def wrong_key(rng, n):
    body = _valid(rng, n)
    others = [u for u in UNITS if u != body["subject"]]
    return rng.choice([None, rng.choice(others).encode()]), _text(body)


def huge(rng, n):
    body = _valid(rng, n)
    body["data"]["description"] = "隐患" * rng.randrange(100_000, 160_000)  # 600–960 KB
    return body["subject"].encode(), _text(body)


KINDS = {bad_json: 20, wrong_types: 20, unknown_type: 12, bad_version: 8, not_object: 8,
         binary: 12, empty: 5, wrong_key: 15}


def records(count: int, seed: int, huge_ones: int = 10) -> list[tuple[bytes | None, bytes, str]]:
    """``count`` records (key, value, kind), every one refused by the gate; ``huge_ones`` of
    them larger than it takes (close to the broker's 1 MiB)."""
    rng = random.Random(seed)
    makers, weights = zip(*KINDS.items())
    out = []
    n = 0
    while len(out) < count:
        maker = huge if len(out) < huge_ones else rng.choices(makers, weights)[0]
        key, value = maker(rng, n)
        n += 1
        if isinstance(decode(value, key=key), Rejection):  # a mutation can stay valid: skip it
            out.append((key, value, maker.__name__))
    rng.shuffle(out)
    return out

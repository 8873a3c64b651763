"""What a hostile or careless publisher can send, as hypothesis strategies: arbitrary bytes,
arbitrary JSON, and valid events of every inbound type mutated field by field (wrong types,
huge and tiny numbers, extreme dates and offsets, long and control-character ids, deep nesting)
and byte by byte (duplicate names, a BOM, lone surrogates, truncation); and the scenario they
are mixed into, so that the rules meet them with state."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone

from hypothesis import strategies as st

from kernel import vocabulary
from schemas.events import INBOUND, SECTORS
from schemas.fields import (
    Category,
    Method,
    Rank,
    Role,
    SiteKind,
    SpotCheckResult,
    UnitKind,
    values,
)
from tests.examples import event

TYPES = sorted(INBOUND)
UNIT = "changtai"

# -- values ------------------------------------------------------------------------------
_BOUNDARY_TIMES = [
    "2000-01-01T00:00:00+14:00", "2000-01-01T00:00:00-14:00", "1999-12-31T23:59:59-14:00",
    "2099-12-31T23:59:59-14:00", "2099-12-31T23:59:59+14:00", "2100-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-04-20T10:30:00+23:59",
    "2026-04-20T10:30:00Z", "2026-04-20T10:30:00", "2026-02-29T10:30:00+08:00",
    "2026-04-20T10:30:00.999999+08:00", "2026-04-20", "2026-04-20T24:00:00+08:00",
    "2062-04-20T10:30:00+08:00", "2026-04-20T10:30:00+08:00" + "0" * 100,
]
_BOUNDARY_DATES = ["2000-01-01", "1999-12-31", "2099-12-31", "2100-01-01", "9999-12-31",
                   "0001-01-01", "2026-02-29", "2028-02-29", "2026-13-01", "２０２６-０１-０１"]
_STRINGS = [
    "", " ", "x" * 128, "x" * 129, "长" * 128, "长" * 129, "x" * 8192, "x" * 8193,
    "a\x00b", "a\x1fb", "\x7f", "a\x85b", "line\nbreak\ttab\r", "\u202eright-to-left",
    "ｆｕｌｌ", "F-changtai-001", "F-changtai-001:report_major_hazard", "visit-2026-changtai",
    "zhangzhou-2026", "clock", "changtai",
]
_NUMBERS = [0, -1, 1, 9, 10, 60, 61, 1000, 1001, 100_000, 100_001, 2**31, 2**63, -(2**63),
            2**64, 10**30, 10**300, 0.5, -0.0, 1e308, 2026, 2099, 2100]


def times() -> st.SearchStrategy[str]:
    anywhere = st.builds(
        lambda t, minutes: t.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        st.integers(-(14 * 60), 14 * 60))
    return st.one_of(st.sampled_from(_BOUNDARY_TIMES), anywhere)


def dates() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_BOUNDARY_DATES), st.dates().map(lambda d: d.isoformat()))


def scalars() -> st.SearchStrategy:
    return st.one_of(
        st.none(), st.booleans(), st.sampled_from(_NUMBERS),
        st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(_STRINGS), st.text(max_size=40), times(), dates(),
        st.sampled_from([*vocabulary.CATEGORIES, *vocabulary.AUTHORITIES, *vocabulary.ACTIONS,
                         *vocabulary.UNIT_KINDS, *TYPES]))


def json_values(leaves: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """Any JSON value (nested a little)."""
    return st.recursive(
        leaves if leaves is not None else scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(st.text(max_size=12), inner, max_size=4)),
        max_leaves=12)


def _long_list(value) -> list:
    return [value] * 1001


# Built once: a strategy costs more to make than to draw from.
TIMES, DATES, SCALARS = times(), dates(), scalars()
JSON = json_values(SCALARS)
LONG_LISTS = st.builds(_long_list, SCALARS)
_BOOLEANS = st.booleans()
_INTEGERS = st.sampled_from([n for n in _NUMBERS if isinstance(n, int)])
_TEXTS = st.one_of(st.sampled_from(_STRINGS), st.text(min_size=1, max_size=20))
_ANYTHING = st.one_of(JSON, st.just(None))


# -- mutations of valid events -----------------------------------------------------------------
def _paths(obj, prefix=()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for n, value in enumerate(obj):
            found += _paths(value, (*prefix, n))
    return found


def _set(obj, path: tuple, value) -> None:
    for part in path[:-1]:
        obj = obj[part]
    obj[path[-1]] = value


def _drop(obj, path: tuple) -> None:
    for part in path[:-1]:
        obj = obj[part]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)


@st.composite
def mutated_events(draw, valid_only: bool = False) -> dict:
    """A valid event of some inbound type with one to three of its fields changed: to any
    JSON value, or (``valid_only``) to a value of the same kind at the contract's edges."""
    kind = draw(st.sampled_from(TYPES))
    body = event(kind, id=f"fuzz-{draw(st.integers(0, 10**6))}")
    paths = [p for p in _paths(body) if p[0] not in ("type", "specversion")]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        try:
            current = body
            for part in path:
                current = current[part]
        except (KeyError, IndexError, TypeError):
            continue
        if valid_only:
            if path[-1] in _FIXED or isinstance(current, (dict, list)) and path[-1] != \
                    "evidence" and not str(path[-1]).endswith("_ids"):
                continue
            value = draw(_valid_like(path, current))
        elif draw(st.integers(0, 2)) == 0:
            value = draw(_like(path, current))
        else:
            value = draw(JSON if draw(st.booleans()) else LONG_LISTS)
        if value is None and draw(st.booleans()):
            _drop(body, path)  # left out, rather than null
        else:
            _set(body, path, value)
    return body


def _like(path: tuple, current) -> st.SearchStrategy:
    """A value of the same kind as ``current`` at ``path``, at the contract's edges."""
    name = str(path[-1])
    if isinstance(current, bool):
        return _BOOLEANS
    if isinstance(current, int):
        return _INTEGERS
    if isinstance(current, list):
        return _lists(tuple(current) or ("x",))
    if name in ("time", "due") or name.endswith("_at"):
        return TIMES
    if name in ("coverage_due", "planned_start", "planned_end"):
        return DATES
    if isinstance(current, str):
        return _TEXTS
    return _ANYTHING


# -- values at the contract's edges, all of them valid ------------------------------------
# Fields left as they are: what makes an event the type it is, and what must equal its subject.
_FIXED = {"specversion", "type", "subject", "unit_id", "campaign_id"}
_INT_RANGES = {"year": (2000, 2099), "aspect": (1, 9), "item": (1, 60), "batch": (1, 1000),
               "phase": (1, 1000), "townships_total": (0, 100_000),
               "departments_total": (0, 100_000), "dataversion": (1, 1)}
_ENUMS = {
    "category": values(Category), "role": values(Role), "rank": values(Rank),
    "site_kind": values(SiteKind), "method": values(Method), "result": values(SpotCheckResult),
    "unit_kind": values(UnitKind), "kind": values(UnitKind), "sector": tuple(SECTORS),
}
_ID_ALPHABET = st.characters(blacklist_categories=("Cc", "Cs"))
VALID_IDS = st.one_of(
    st.text(_ID_ALPHABET, min_size=1, max_size=128),
    st.sampled_from(["x" * 128, "长" * 128, "F-changtai-001", "F-1", "visit-2026-changtai",
                     "a:b:c", "a\u3000b", " ", "🙂" * 64, "F-0:issue_enforcement_document",
                     "F-1:report_major_hazard", "F-3:transfer_for_investigation",
                     "F-0:take_immediate_measures", "F-0:recommend_listed_supervision"]))
VALID_TEXTS = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
        chr(c) for c in (*range(9), 11, 12, *range(14, 32), *range(127, 160))]), max_size=200),
    st.sampled_from(["", "x" * 8192, "长" * 8192, "line\nbreak\ttab\r", " \n "]))
VALID_TIMES = st.one_of(
    st.sampled_from(["2000-01-01T00:00:00+14:00", "2000-01-01T00:00:00-14:00",
                     "2099-12-31T23:59:59-14:00", "2099-12-31T23:59:59.999999+14:00",
                     "2026-02-28T23:59:59+08:00", "2026-12-31T16:00:00Z"]),
    st.builds(lambda t, m: t.replace(tzinfo=timezone(timedelta(minutes=m))).isoformat(),
              st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
              st.integers(-(14 * 60), 14 * 60)))
VALID_DATES = st.one_of(st.sampled_from(["2000-01-01", "2099-12-31", "2028-02-29"]),
                        st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
                        .map(lambda d: d.isoformat()))


def _valid_like(path: tuple, current) -> st.SearchStrategy:
    name = str(path[-1])
    if isinstance(current, bool):
        return _BOOLEANS
    if isinstance(current, int):
        low, high = _INT_RANGES.get(name, (0, 1))
        return st.one_of(st.sampled_from([low, high]), st.integers(low, high))
    if name == "evidence":
        return st.lists(VALID_TEXTS, max_size=30) | st.builds(lambda t: [t] * 1000, VALID_TEXTS)
    if isinstance(current, list):  # finding ids
        return st.lists(VALID_IDS | st.sampled_from(["F-0", "F-1", "F-2", "F-3"]), max_size=30) \
            | st.builds(lambda i: [i] * 1000, VALID_IDS)
    if name in _ENUMS:
        return st.sampled_from(_ENUMS[name])
    if name == "time" or name.endswith("_at"):
        return VALID_TIMES
    if name in ("coverage_due", "planned_start", "planned_end"):
        return VALID_DATES
    if name in ("description", "advice", "reason", "resolution", "title", "name", "by",
                "organization", "department", "site_name", "unit_name") or path[-2:-1] == \
            ("evidence",):
        return VALID_TEXTS
    return VALID_IDS


_LISTS: dict[tuple, st.SearchStrategy] = {}


def _lists(current: tuple) -> st.SearchStrategy:
    key = current if all(isinstance(c, str) for c in current) else ("x",)
    if key not in _LISTS:
        _LISTS[key] = st.one_of(st.just([]), st.lists(st.sampled_from(_STRINGS[:8]), max_size=8),
                                st.builds(lambda x: [x] * 1000, st.sampled_from(key)))
    return _LISTS[key]


@st.composite
def raw_records(draw, valid_only: bool = False) -> tuple[bytes | None, bytes]:
    """(key, value) of a mutated event, sometimes mangled as bytes too."""
    body = draw(mutated_events(valid_only))
    subject = body.get("subject")
    key = subject.encode("utf-8", "replace") if isinstance(subject, str) else None
    if body.get("type") in ("clock.ticked", "policy.adopted"):  # sent without a key
        key = None
    if not valid_only and draw(st.integers(0, 9)) == 0:
        key = draw(st.sampled_from([None, b"", b"pinghe", b"\xff\xfe", b"x" * 1000]))
    value = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if not valid_only:
        value = draw(_MANGLES)(value)
    return key, value


def _duplicate_name(value: bytes) -> bytes:
    return value.replace(b"{", b'{"time": "2099-12-31T00:00:00+08:00", ', 1)


def _lone_surrogate(value: bytes) -> bytes:
    return value.replace(b'"id": "', b'"id": "\\ud800', 1)


def _deep(value: bytes) -> bytes:
    return value.replace(b'"data": {', b'"data": ' + b"[" * 3000 + b"]" * 3000 + b', "x": {', 1)


_MANGLE = [
    lambda v: v, lambda v: v, lambda v: v, lambda v: v,  # mostly as they are
    lambda v: b"\xef\xbb\xbf" + v,  # a BOM
    _duplicate_name, _lone_surrogate, _deep,
    lambda v: v[: len(v) // 2],  # cut short
    lambda v: v.replace(b'"', b"'", 1),
    lambda v: v + b" " * (512 * 1024),  # past the size
]
_MANGLES = st.sampled_from(_MANGLE)


# -- the scenario the records are mixed into ---------------------------------------------------
def _at(day: float, hours: float = 10) -> str:
    start = datetime(2026, 4, 18, tzinfo=timezone(timedelta(hours=8)))
    return (start + timedelta(days=day, hours=hours)).isoformat()


def scenario() -> list[dict]:
    """A unit's visit with findings of every kind, up to the point where escalations are
    open: the state the records meet."""
    def ev(kind, day, n, **data):
        body = event(kind, id=f"base-{n}", time=_at(day))
        body["data"].update(data)
        return body

    found = [ev("campaign.planned", -30, 0), ev("visit.scheduled", -7, 1),
             ev("visit.started", 0, 2)]
    found += [ev("site.inspected", 1, 10 + n, site_id=f"s{n}", site_kind=kind)
              for n, kind in enumerate(["township", "department", "enterprise", "community"])]
    for n, (category, flags) in enumerate([("violation", True), ("major_hazard", False),
                                           ("general", False), ("accountability", True)]):
        body = ev("finding.recorded", 2, 20 + n, finding_id=f"F-{n}", category=category,
                  cannot_ensure_safety=flags, listed_supervision_advised=flags)
        if category == "general":
            body["data"]["evidence"] = []
        found.append(body)
    found += [ev("visit.ended", 10, 30), ev("feedback.delivered", 12, 31)]
    return found


def followups() -> list[dict]:
    """What comes after the records: answers, a report, checks and the months going by."""
    def ev(kind, day, n, **data):
        body = event(kind, id=f"after-{n}", time=_at(day))
        body["data"].update(data)
        return body

    return [ev("escalation.acknowledged", 13, 0, escalation_id="F-1:report_major_hazard"),
            ev("enforcement.document.issued", 13, 1, finding_id="F-0"),
            ev("rectification.report.submitted", 40, 2,
               rectified_finding_ids=["F-0", "F-1"], pending_finding_ids=["F-2"]),
            ev("spot_check.conducted", 50, 3, finding_ids=["F-0", "F-2"],
               result="not_rectified"),
            ev("finding.amended", 51, 4, finding_id="F-3"),
            ev("finding.withdrawn", 52, 5, finding_id="F-2"),
            *(event("clock.ticked", id=f"tick-{d}", time=_at(d, 0)) for d in (60, 120, 300))]


def copied(events: list[dict]) -> list[dict]:
    return copy.deepcopy(events)

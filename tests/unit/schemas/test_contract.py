"""The contract, held exactly: every type, every enumeration, every rejection cause."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from inspections.upstream import contract
from runtime.config.topics import TOPICS
from schemas import DERIVED, INBOUND, MAX_RECORD_BYTES, Envelope, Rejection, decode
from schemas.events import SECTORS
from schemas.fields import (
    Action,
    Authority,
    BreachKind,
    Category,
    CheckMethod,
    Method,
    Rank,
    Role,
    SiteKind,
    SpotCheckResult,
    UnitKind,
    values,
)
from tests.conftest import REPO
from tests.examples import DATA, event, raw

CONTRACT_TYPES = [
    "campaign.planned", "visit.scheduled", "visit.started", "site.inspected", "visit.ended",
    "feedback.delivered", "finding.recorded", "enforcement.document.issued",
    "immediate.measures.taken", "finding.rectified", "escalation.acknowledged",
    "escalation.resolved", "rectification.report.submitted", "spot_check.conducted",
    "clock.ticked",
]
# Additions to the shared contract (new optional types: corrections).
ADDED_TYPES = ["finding.amended", "finding.withdrawn",
               # after-care: the contract's own names for them
               "status.report.submitted", "listed_supervision.decided",
               "listed_supervision.lifted", "investigation.concluded",
               # the city's policy in the log
               "policy.adopted"]


def _rejected(body: dict | bytes, key=None, **kw) -> Rejection:
    raw_bytes = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    result = decode(raw_bytes, **({"key": key} if "key" in kw else {}))
    assert isinstance(result, Rejection), result
    return result


def _set(body: dict, path: tuple, value) -> dict:
    body = copy.deepcopy(body)
    node = body
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


_DELETE = object()


def test_the_registry_has_every_type_of_the_contract():
    assert list(INBOUND) == CONTRACT_TYPES + ADDED_TYPES
    assert set(DERIVED) == {"escalation.raised", "escalation.escalated", "deadline.breached",
                            "record.rejected", "escalation.withdrawn"}
    assert set(DATA) == set(INBOUND) | set(DERIVED)


@pytest.mark.parametrize("event_type", CONTRACT_TYPES + ADDED_TYPES)
def test_every_example_passes_as_its_type(event_type):
    result = decode(raw(event_type))
    assert isinstance(result, INBOUND[event_type])
    assert result.type == event_type


@pytest.mark.parametrize("event_type", list(DATA))
def test_round_trip_model_json_model_is_identical(event_type):
    model = {**INBOUND, **DERIVED}[event_type]
    first = model.model_validate(event(event_type, traceparent="00-4bf92f"))
    again = model.model_validate_json(first.model_dump_json())
    assert again == first
    assert again.model_dump_json() == first.model_dump_json()
    assert again.model_extra == {"traceparent": "00-4bf92f"}


def test_times_keep_their_offset_and_dates_are_dates():
    finding = decode(raw("finding.recorded"))
    assert finding.time.isoformat() == "2026-04-20T10:30:00+08:00"
    assert json.loads(finding.model_dump_json())["time"] == "2026-04-20T10:30:00+08:00"
    plan = decode(raw("campaign.planned"))
    assert plan.data.coverage_due.isoformat() == "2026-12-31"


def test_optional_fields_may_be_absent():
    body = event("finding.recorded")
    for name in ("sector", "aspect", "item", "site_id", "advice", "listed_supervision_advised"):
        del body["data"][name]
    for name in ("datacontenttype", "correlationid"):
        del body[name]
    result = decode(json.dumps(body).encode())
    assert isinstance(result, Envelope)
    assert result.data.listed_supervision_advised is False
    assert result.dataversion == 1


def test_unknown_data_fields_are_tolerated_and_extension_attributes_kept():
    body = event("visit.started", partnerref="x-17")
    body["data"]["weather"] = "rain"
    result = decode(json.dumps(body).encode())
    assert isinstance(result, Envelope)
    assert result.model_extra == {"partnerref": "x-17"}


ENUMERATIONS = [
    ("campaign.planned", ("units", 0, "kind"), values(UnitKind)),
    ("visit.scheduled", ("unit_kind",), values(UnitKind)),
    ("visit.scheduled", ("team", "members", 0, "role"), values(Role)),
    ("visit.scheduled", ("team", "members", 0, "rank"), values(Rank)),
    ("site.inspected", ("site_kind",), values(SiteKind)),
    ("site.inspected", ("method",), values(Method)),
    ("finding.recorded", ("category",), values(Category)),
    ("finding.recorded", ("sector",), tuple(SECTORS)),
    ("spot_check.conducted", ("result",), values(SpotCheckResult)),
]


@pytest.mark.parametrize(("event_type", "path", "allowed"), ENUMERATIONS)
def test_every_enumeration_value_passes_and_no_other(event_type, path, allowed):
    base = event(event_type)
    for value in allowed:
        assert isinstance(decode(json.dumps(_set(base, ("data", *path), value)).encode()),
                          Envelope), value
    reason = _rejected(_set(base, ("data", *path), "bogus")).reason
    assert reason.startswith("data." + ".".join(map(str, path)) + ": ")
    assert '(got "bogus")' in reason


def test_the_contract_lists_these_enumerations():
    assert values(UnitKind) == ("county", "zone")
    assert values(Role) == ("leader", "deputy_leader", "member", "expert")
    assert values(Rank) == ("division", "section", "other")
    assert values(SiteKind) == ("township", "community", "department", "enterprise")
    assert values(Method) == ("report", "meeting", "documents", "open_visit",
                              "unannounced_visit", "other")
    assert values(Category) == ("general", "violation", "major_hazard", "major_issue",
                                "misconduct_clue", "accountability")
    assert values(SpotCheckResult) == ("confirmed", "not_rectified")
    assert {"road_traffic", "waterway_traffic", "fishery", "hazardous_chemicals",
            "construction", "fire_safety", "other"} <= set(SECTORS)
    assert len(values(Action)) == 7 and len(values(Authority)) == 7
    assert values(CheckMethod) == ("spot_check", "unannounced_visit", "look_back")
    assert len(values(BreachKind)) == 14
    assert {"rectification_follow_up_overdue", "status_report_overdue"} <= set(values(BreachKind))


@pytest.mark.parametrize(
    ("event_type", "path", "allowed"),
    [
        ("escalation.raised", ("action",), values(Action)),
        ("escalation.raised", ("authority",), values(Authority)),
        ("deadline.breached", ("kind",), values(BreachKind)),
    ],
)
def test_derived_enumerations(event_type, path, allowed):
    model = DERIVED[event_type]
    base = event(event_type)
    for value in allowed:
        model.model_validate(_set(base, ("data", *path), value))
    with pytest.raises(ValueError):
        model.model_validate(_set(base, ("data", *path), "bogus"))


# -- each rejection cause, with its reason text ---------------------------------------------
def test_not_json():
    r = _rejected(b'{"specversion": "1.0",')
    assert (r.cause, r.reason) == ("not_json", "not JSON: unexpected end of data at line 1 "
                                               "column 23")


def test_not_utf8_and_not_an_object():
    assert _rejected(b'{"a": "\xe5\xb7"}').reason == "not UTF-8: invalid byte at position 7"
    assert _rejected(b'"visit.started"').reason == "not a JSON object: the record is a JSON str"


def test_missing_attribute():
    r = _rejected(_set(event("visit.started"), ("subject",), _DELETE))
    assert (r.cause, r.reason) == ("schema", "subject: required, missing")
    assert _rejected(_set(event("visit.started"), ("type",), _DELETE)).reason == (
        "type: required, missing")


def test_missing_data_field():
    r = _rejected(_set(event("finding.recorded"), ("data", "cannot_ensure_safety"), _DELETE))
    assert r.reason == "data.cannot_ensure_safety: required, missing"


def test_wrong_type():
    r = _rejected(_set(event("visit.scheduled"), ("data", "batch"), "1"))
    assert r.reason == 'data.batch: Input should be a valid integer (got "1")'
    r = _rejected(_set(event("finding.recorded"), ("data", "cannot_ensure_safety"), 1))
    assert r.reason == "data.cannot_ensure_safety: Input should be a valid boolean (got 1)"
    r = _rejected(_set(event("finding.recorded"), ("data", "evidence"), "photo.jpg"))
    assert r.reason == 'data.evidence: Input should be a valid list (got "photo.jpg")'


def test_value_outside_its_enumeration():
    r = _rejected(_set(event("finding.recorded"), ("data", "category"), "minor"))
    assert r.reason == (
        "data.category: Input should be 'general', 'violation', 'major_hazard', 'major_issue', "
        "'misconduct_clue' or 'accountability' (got \"minor\")")


def test_number_out_of_range():
    r = _rejected(_set(event("finding.recorded"), ("data", "aspect"), 10))
    assert r.reason == "data.aspect: Input should be less than or equal to 9 (got 10)"
    r = _rejected(_set(event("finding.recorded"), ("data", "item"), 0))
    assert r.reason == "data.item: Input should be greater than or equal to 1 (got 0)"


def test_unknown_type():
    r = _rejected(_set(event("visit.started"), ("type",), "visit.paused"))
    assert r.cause == "unknown_type"
    assert r.reason.startswith('type: unknown event type "visit.paused"; known: campaign.planned')


def test_time_without_offset():
    r = _rejected(_set(event("visit.started"), ("time",), "2026-04-18T09:00:00"))
    assert r.reason == 'time: Input should have timezone info (got "2026-04-18T09:00:00")'
    r = _rejected(_set(event("visit.started"), ("time",), 1776000000))
    assert r.reason == "time: should be an ISO 8601 time string with an offset (got 1776000000)"
    r = _rejected(_set(event("campaign.planned"), ("data", "coverage_due"), "31/12/2026"))
    assert r.reason == 'data.coverage_due: should be an ISO date YYYY-MM-DD (got "31/12/2026")'


def test_oversize_is_counted_in_bytes_and_not_parsed():
    filler = "巡" * (MAX_RECORD_BYTES // 3 + 1)  # 3 bytes each in UTF-8
    body = event("finding.recorded")
    body["data"]["description"] = filler
    over = json.dumps(body, ensure_ascii=False).encode()
    assert len(over.decode()) < MAX_RECORD_BYTES < len(over)
    assert _rejected(over).reason == (
        f"record is {len(over)} bytes, larger than {MAX_RECORD_BYTES} bytes")
    # Not parsed: an oversize record that is not even JSON gets the same reason.
    assert _rejected(b"{" * (MAX_RECORD_BYTES + 1)).cause == "oversize"
    exactly = b" " * (MAX_RECORD_BYTES - len(raw("visit.started"))) + raw("visit.started")
    assert len(exactly) == MAX_RECORD_BYTES and isinstance(decode(exactly), Envelope)


def test_subject_must_name_the_unit_and_the_key_must_be_the_subject():
    r = _rejected(_set(event("visit.started"), ("subject",), "pinghe"))
    assert r.reason == "subject should equal data.unit_id ('changtai'), got 'pinghe'"
    assert _rejected(_set(event("clock.ticked"), ("subject",), "changtai")).reason == (
        "subject of clock.ticked should be 'clock'")
    assert isinstance(decode(raw("visit.started"), key=b"changtai"), Envelope)
    r = decode(raw("visit.started"), key=b"pinghe")
    assert (r.cause, r.reason) == ("wrong_key", 'key: should be the subject "changtai" '
                                                '(got "pinghe")')
    assert decode(raw("visit.started"), key=None).reason == (
        'key: should be the subject "changtai" (got none)')
    assert isinstance(decode(raw("clock.ticked"), key=None), Envelope)
    assert decode(raw("clock.ticked"), key=b"clock").cause == "wrong_key"


def test_empty_identifiers_are_refused():
    r = _rejected(_set(event("visit.started"), ("id",), ""))
    assert r.reason == 'id: String should have at least 1 character (got "")'


# -- versions --------------------------------------------------------------------------------
def test_a_version_0_site_inspected_is_read_as_version_1():
    body = event("site.inspected", dataversion=0)
    data = body["data"]
    data["kind"], data["name"] = data.pop("site_kind"), data.pop("site_name")
    result = decode(json.dumps(body, ensure_ascii=False).encode())
    assert isinstance(result, Envelope), result
    assert result.dataversion == 1
    assert result.data == decode(raw("site.inspected")).data


def test_unknown_versions_are_refused():
    assert _rejected(event("site.inspected", dataversion=2)).reason == (
        "dataversion: dataversion 2 of site.inspected is not known (this reader knows 0 to 1)")
    assert _rejected(event("visit.started", dataversion=0)).reason == (
        "dataversion: dataversion 0 of visit.started is not known (this reader knows 1 to 1)")
    assert _rejected(event("visit.started", dataversion="1")).reason == (
        'dataversion: should be an integer (got "1")')


# -- never raises ----------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(data):
    assert isinstance(decode(data), (Envelope, Rejection))


@given(JSON)
def test_random_json_never_raises(value):
    assert isinstance(decode(json.dumps(value).encode()), (Envelope, Rejection))


@settings(max_examples=300)
@given(st.sampled_from(CONTRACT_TYPES), st.data())
def test_random_changes_to_valid_events_never_raise(event_type, data):
    body = event(event_type)
    node = body
    # Walk down to a random place and put random JSON there.
    while isinstance(node, dict) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node)))
        if not isinstance(node[key], dict):
            break
        node = node[key]
    if isinstance(node, dict):
        node[data.draw(st.sampled_from(sorted(node) or ["x"]))] = data.draw(JSON)
    result = decode(json.dumps(body).encode(), key=data.draw(st.none() | st.binary(max_size=8)))
    assert isinstance(result, (Envelope, Rejection))


# -- the machine-readable contract ---------------------------------------------------------
def test_checked_in_json_schemas_and_asyncapi_are_not_stale():
    stale = [
        str(path.relative_to(REPO))
        for path, text in contract.expected_files().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    extra = sorted(
        str(p.relative_to(REPO)) for p in contract.JSON_DIR.glob("*.json")
        if p not in contract.expected_files()
    )
    assert stale == [] and extra == [], "run `inspections contract write` and commit"


@pytest.mark.parametrize("event_type", list(DATA))
def test_each_example_is_valid_under_its_json_schema_file(event_type):
    schema = json.loads((contract.JSON_DIR / f"{event_type}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(event(event_type))


def test_a_json_schema_refuses_what_the_gate_refuses():
    schema = json.loads((contract.JSON_DIR / "finding.recorded.json").read_text())
    bad = _set(event("finding.recorded"), ("data", "category"), "minor")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(bad)


def test_asyncapi_document_is_valid_asyncapi_3():
    spec = json.loads((REPO / "tests" / "vendor" / "asyncapi-3.0.0.schema.json").read_text())
    document = yaml.safe_load(contract.ASYNCAPI.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(spec).validate(document)
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {t.name for t in TOPICS}
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert names == set(INBOUND) | set(DERIVED) | {"internal"}
    actions = {(op["action"], op["channel"]["$ref"]) for op in document["operations"].values()}
    for channel in document["channels"]:
        assert ("send", f"#/channels/{channel}") in actions
        assert ("receive", f"#/channels/{channel}") in actions


def test_a_broken_asyncapi_document_is_caught():
    spec = json.loads((REPO / "tests" / "vendor" / "asyncapi-3.0.0.schema.json").read_text())
    document = yaml.safe_load(contract.ASYNCAPI.read_text(encoding="utf-8"))
    document["operations"]["brokenOp"] = {"action": "publish"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(spec).validate(document)

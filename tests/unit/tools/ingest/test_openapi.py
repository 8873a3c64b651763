"""The OpenAPI document of the HTTP ingestion: generated from the models, checked in fresh,
and valid OpenAPI 3.1."""

from __future__ import annotations

import copy

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from inspections.ingest import openapi
from schemas.events import INBOUND


def test_the_checked_in_document_is_the_generated_one():
    assert openapi.OPENAPI.read_text(encoding="utf-8") == openapi.text(), \
        "run `inspections contract write` and commit"


def test_it_is_valid_openapi_and_names_every_inbound_type():
    document = yaml.safe_load(openapi.OPENAPI.read_text(encoding="utf-8"))
    validate(document)
    mapping = document["components"]["schemas"]["InboundEvent"]["discriminator"]["mapping"]
    assert set(mapping) == set(INBOUND)
    responses = document["paths"]["/events"]["post"]["responses"]
    assert {"202", "207", "400", "401", "403", "413", "415", "429", "503"} <= set(responses)


def test_a_broken_document_is_caught():
    document = copy.deepcopy(openapi.document())
    document["paths"]["/events"]["post"]["responses"]["202"] = {"content": 3}
    with pytest.raises(OpenAPIValidationError):
        validate(document)

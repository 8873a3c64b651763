"""The catalogue is data: every aspect (1-9) and item (1-60) has a place in it, the seed's
named ones are named, and a name the city has not given yet shows as its number."""

from __future__ import annotations

from schemas import catalogue
from schemas.events import FindingRecordedData


def test_every_aspect_and_item_the_contract_allows_has_a_place_and_the_seeds_are_named():
    schema = FindingRecordedData.model_json_schema()["properties"]
    aspect = next(a for a in schema["aspect"]["anyOf"] if a.get("type") == "integer")
    item = next(a for a in schema["item"]["anyOf"] if a.get("type") == "integer")
    assert sorted(catalogue.ASPECTS) == list(range(aspect["minimum"], aspect["maximum"] + 1))
    assert sorted(catalogue.ITEMS) == list(range(item["minimum"], item["maximum"] + 1))
    named = [n for n, name in catalogue.ASPECTS.items() if name]
    assert named == [1, 2, 3, 4]  # the four the seed names
    assert "责任体系" in catalogue.ASPECTS[3] and "监管体系" in catalogue.ASPECTS[4]
    assert {"road_traffic", "waterway_traffic", "fishery", "hazardous_chemicals",
            "construction", "fire_safety", "other"} <= set(catalogue.SECTORS)


def test_a_name_shows_with_its_number_and_one_not_given_yet_as_the_number():
    assert catalogue.aspect_name(3).startswith("3 安全生产责任体系")
    assert catalogue.aspect_name(7) == "7"
    assert catalogue.item_name(None) == "–"
    assert catalogue.sector_name("fire_safety") == catalogue.SECTORS["fire_safety"]
    assert catalogue.sector_name("unknown") == "unknown"


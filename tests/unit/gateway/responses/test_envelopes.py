"""BadgeKit's envelopes as reply models: the status word, the object under its own name, the
list with `pageData` only when paged, and keys the model does not declare refused."""

from __future__ import annotations

import pydantic
import pytest

from services.gateway.responses import envelopes
from services.gateway.responses.organizations import Consumer, NewConsumer

CONSUMER = {"apiKey": "k", "description": None, "createdAt": "2024-05-01T12:00:00+00:00"}


def test_created_is_the_object_under_its_name_with_the_status_word() -> None:
    model = envelopes.created("consumer", NewConsumer)
    assert model.__name__ == "NewConsumerCreated"
    model.model_validate({"status": "created", "consumer": {**CONSUMER, "apiSecret": "s"}})
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({"status": "updated", "consumer": CONSUMER})


def test_the_same_envelope_is_the_same_model() -> None:
    assert envelopes.deleted("consumer", Consumer) is envelopes.deleted("consumer", Consumer)


def test_a_listing_has_page_data_only_when_paged() -> None:
    model = envelopes.listing("consumers", Consumer)
    model.model_validate({"consumers": [CONSUMER]})
    model.model_validate({"consumers": [CONSUMER], "pageData": {"page": 1, "count": 1, "total": 3}})
    schema = model.model_json_schema(mode="serialization")
    assert schema["required"] == ["consumers"]
    assert "anyOf" not in schema["properties"]["pageData"]


def test_an_undeclared_key_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        Consumer.model_validate({**CONSUMER, "apiSecret": "s"})


def test_a_secret_shown_once_may_be_left_out() -> None:
    NewConsumer.model_validate(CONSUMER)
    schema = NewConsumer.model_json_schema(mode="serialization")
    assert "apiSecret" not in schema["required"]
    assert schema["properties"]["apiSecret"]["type"] == "string"

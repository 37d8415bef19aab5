from __future__ import annotations

import pytest

from shared import scale


def test_one_of_each_by_default() -> None:
    assert scale.parse(None) == {"badges": 1, "issuer": 1, "webhooks": 1, "gateway": 1}
    assert scale.parse("") == scale.parse(None)


def test_counts_given_override_the_default() -> None:
    parsed = scale.parse(" gateway=2, badges = 3 ,")
    assert parsed == {"badges": 3, "issuer": 1, "webhooks": 1, "gateway": 2}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("gateways=2", "not service=count"),
        ("badges", "not service=count"),
        ("badges=0", "a count from 1"),
        ("badges=two", "a count from 1"),
        ("badges=17", "a count from 1"),
        ("sandbox=2", "not service=count"),
    ],
)
def test_a_bad_scale_says_what_to_write(text: str, names: str) -> None:
    with pytest.raises(scale.ScaleError, match=names) as raised:
        scale.parse(text)
    assert "PLAUDIT_SCALE" in str(raised.value)


def test_replicas_are_named_apart_the_first_by_its_service() -> None:
    names = [replica.name for replica in scale.replicas(scale.parse("badges=2,gateway=2"))]
    assert names == ["badges", "badges-2", "issuer", "webhooks", "gateway", "gateway-2"]


def test_replicas_of_some_services_only() -> None:
    chosen = scale.replicas({"webhooks": 3}, ["webhooks"])
    assert [(r.service, r.number, r.name) for r in chosen] == [
        ("webhooks", 1, "webhooks"),
        ("webhooks", 2, "webhooks-2"),
        ("webhooks", 3, "webhooks-3"),
    ]


def test_describe() -> None:
    assert scale.describe(scale.parse("badges=2")) == "badges x2, issuer, webhooks, gateway"

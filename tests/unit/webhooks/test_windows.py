"""Per-endpoint windows: a new or failing endpoint gets the start, answers widen it one at a
time up to the widest, failures of its own halve it, outcomes that say nothing leave it."""

from __future__ import annotations

import uuid

from services.webhooks.windows import Windows

HEALTHY = uuid.UUID(int=1)
HANGING = uuid.UUID(int=2)


def windows() -> Windows:
    return Windows(start=4, widest=10)


def test_an_unknown_endpoint_has_the_start_and_is_not_listed() -> None:
    slots = windows()
    assert slots.width(HEALTHY) == 4
    assert slots.free() == {}


def test_deliveries_out_take_slots_and_settled_ones_give_them_back() -> None:
    slots = windows()
    for _ in range(4):
        slots.taken(HANGING)
    assert slots.free() == {HANGING: 0}
    slots.returned(HANGING, None)
    assert slots.free() == {HANGING: 1}
    assert slots.busy(HANGING) == 3


def test_answers_widen_the_window_one_at_a_time_up_to_the_widest() -> None:
    slots = windows()
    for expected in [5, 6, 7, 8, 9, 10, 10]:
        slots.taken(HEALTHY)
        slots.returned(HEALTHY, True)
        assert slots.width(HEALTHY) == expected
    assert slots.free() == {HEALTHY: 10}


def test_a_failure_of_the_endpoints_halves_it_never_below_the_start() -> None:
    slots = windows()
    for _ in range(6):
        slots.taken(HEALTHY)
        slots.returned(HEALTHY, True)
    assert slots.width(HEALTHY) == 10
    slots.taken(HEALTHY)
    slots.returned(HEALTHY, False)
    assert slots.width(HEALTHY) == 5
    slots.taken(HEALTHY)
    slots.returned(HEALTHY, False)
    assert slots.width(HEALTHY) == 4
    assert slots.free() == {}


def test_a_hanging_endpoint_never_gets_more_than_the_start() -> None:
    slots = windows()
    for _ in range(20):
        slots.taken(HANGING)
        slots.returned(HANGING, False)
    assert slots.width(HANGING) == 4


def test_an_outcome_that_says_nothing_of_the_endpoint_leaves_its_window() -> None:
    slots = windows()
    slots.taken(HEALTHY)
    slots.returned(HEALTHY, True)
    slots.taken(HEALTHY)
    slots.returned(HEALTHY, None)
    assert slots.width(HEALTHY) == 5


def test_an_idle_endpoint_is_forgotten_but_not_one_with_deliveries_out() -> None:
    slots = windows()
    slots.taken(HEALTHY)
    slots.returned(HEALTHY, True)
    slots.taken(HEALTHY)
    slots.forget_idle(HEALTHY)
    assert slots.width(HEALTHY) == 5
    slots.returned(HEALTHY, None)
    slots.forget_idle(HEALTHY)
    assert slots.width(HEALTHY) == 4

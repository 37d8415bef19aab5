"""The benchmark's report refuses to print a rate for a run in which any request failed; its
options."""

from __future__ import annotations

from typing import Any

import pytest

from bench.cli import (
    MAX_TOKEN_TTL_S,
    SLOWEST_RATE,
    parse_args,
    signing_plan,
    throughput_line,
    unclean,
)
from bench.runner import Plan


def report(errors: dict[str, int] | None = None, never_sent: int = 0) -> dict[str, Any]:
    return {
        "requests": {"sent": 1000, "ok": 1000, "errors": errors or {}, "never_sent": never_sent},
        "throughput_rps": 500.0,
        "ok_rps": 500.0,
    }


def test_a_clean_run_has_its_rate() -> None:
    assert unclean(report()) == 0
    assert throughput_line(report()).startswith("throughput   500.0 req/s answered, 500.0/s 2xx")


def test_one_failure_withholds_the_rate() -> None:
    line = throughput_line(report({"HTTP 503": 1}))
    assert "not reported: 1 requests failed" in line
    assert "500" not in line


def test_requests_never_sent_withhold_it_too() -> None:
    assert unclean(report(never_sent=3)) == 3
    assert "not reported" in throughput_line(report(never_sent=3))


def test_a_closed_loop_of_requests_signs_them_all_ahead_for_as_long_as_it_may_last() -> None:
    args = parse_args(["award", "--requests", "100000"])
    plan = Plan(args.connections, args.duration, args.warmup, args.rate, args.requests)
    count, ttl_s = signing_plan(args, plan)
    assert count == 100_000
    assert 100_000 / SLOWEST_RATE < ttl_s <= MAX_TOKEN_TTL_S
    assert plan.measure_s == float("inf")


def test_the_webhooks_scenario_counts_every_event() -> None:
    assert parse_args(["webhooks"]).warmup == 0
    assert parse_args(["award"]).warmup == 2
    with pytest.raises(SystemExit):
        parse_args(["webhooks", "--warmup", "1"])
    with pytest.raises(SystemExit):
        parse_args(["award", "--requests", "10", "--rate", "100"])


def test_a_backlog_is_only_for_the_webhooks_scenario_on_a_spawned_stack() -> None:
    assert parse_args(["webhooks", "--spawn", "--backlog"]).backlog
    with pytest.raises(SystemExit):
        parse_args(["webhooks", "--backlog"])
    with pytest.raises(SystemExit):
        parse_args(["award", "--spawn", "--backlog"])

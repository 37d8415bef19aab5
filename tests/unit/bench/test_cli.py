"""The benchmark's report refuses to print a rate for a run in which any request failed."""

from __future__ import annotations

from typing import Any

from bench.cli import throughput_line, unclean


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

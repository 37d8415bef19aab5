from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from shared.config import Environment
from shared.logging import configure_logging


@pytest.fixture(autouse=True)
def _restored_logging() -> Iterator[None]:
    """These tests log to the captured stderr, closed after each: later tests must not."""
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_tracebacks_never_show_local_variables(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Environment.PRODUCTION, "tests")
    try:
        secret = "whsec_super-secret-value"
        raise RuntimeError(f"failed after reading {len(secret)} characters")
    except RuntimeError:
        structlog.get_logger().exception("something.failed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "something.failed"
    assert record["exception"][0]["exc_type"] == "RuntimeError"
    assert "whsec_super-secret-value" not in line


def test_json_lines_carry_the_service_and_bound_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Environment.TEST, "badges")
    with structlog.contextvars.bound_contextvars(correlation_id="c-1"):
        structlog.get_logger().info("request.committed", system_id=7)
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (record["service"], record["correlation_id"], record["system_id"]) == (
        "badges",
        "c-1",
        7,
    )


def test_a_replica_is_named_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Environment.TEST, "badges", replica="badges-2")
    structlog.get_logger().info("request.committed")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (record["service"], record["replica"]) == ("badges", "badges-2")


def test_a_single_process_names_no_replica(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Environment.TEST, "badges")
    structlog.get_logger().info("request.committed")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "replica" not in record

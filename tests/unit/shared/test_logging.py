from __future__ import annotations

import json

import pytest
import structlog

from shared.config import Environment
from shared.logging import configure_logging


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

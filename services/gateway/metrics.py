"""Prometheus metrics of the gateway, labelled by route template (never a raw path)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "plaudit_http_requests",
    "HTTP requests answered",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "plaudit_http_request_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


_counters: dict[tuple[str, str, int], Any] = {}
_timers: dict[str, Any] = {}


def observe(method: str, route: str, status: int, elapsed_s: float) -> None:
    """Count one answered request and time it (label children cached: `labels()` takes a lock
    and builds a key on every call)."""
    counter = _counters.get((method, route, status))
    if counter is None:
        counter = _counters[(method, route, status)] = REQUESTS.labels(method, route, str(status))
    counter.inc()
    timer = _timers.get(route)
    if timer is None:
        timer = _timers[route] = LATENCY.labels(route)
    timer.observe(elapsed_s)

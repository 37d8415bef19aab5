"""The gateway's own constants; everything configurable is in `shared.config.Settings`."""

from __future__ import annotations

SERVICE = "gateway"
# What BadgeKit clients check on `/` and `/healthcheck`.
APP_NAME = "BadgeKit API"

# How long the gateway waits for the owning service's reply before answering 503.
REQUEST_TIMEOUT_S = 5.0
# Readiness probes must answer fast even when a service is down.
PROBE_TIMEOUT_S = 1.0
# Bodies carry JSON, forms and images (uploaded images are limited separately).
CLIENT_MAX_SIZE = 4 * 1024 * 1024
# API consumer secrets are remembered this long (DESIGN.md: at most 5 s), unknown keys too.
CONSUMER_CACHE_TTL_S = 5.0
CONSUMER_CACHE_SIZE = 10_000
# Time allowed to finish requests in flight on SIGTERM.
SHUTDOWN_TIMEOUT_S = 10.0

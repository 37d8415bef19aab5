"""The sandbox's fixed numbers and names."""

from __future__ import annotations

SERVICE = "sandbox"
ADMIN_PREFIX = "/_sandbox"
HEALTH_PATH = f"{ADMIN_PREFIX}/health"
# A slow answer is held at most this long once the process stops: SIGTERM stops it promptly.
SHUTDOWN_TIMEOUT_S = 2.0
# Open Campus publishes no body limit; a credential is a few kilobytes.
CLIENT_MAX_SIZE = 1024**2

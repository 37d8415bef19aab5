"""The webhooks service's own constants; everything configurable is in `shared.config.Settings`
(WEBHOOK_RETRY_SCHEDULE, WEBHOOK_TIMEOUT_S, WEBHOOK_SECRET_OVERLAP, WEBHOOK_DISABLE_AFTER,
WEBHOOK_ALLOW_PRIVATE)."""

from __future__ import annotations

from pathlib import Path

SERVICE = "webhooks"
MIGRATIONS = Path(__file__).parent / "migrations"

# Deliveries in flight per endpoint (its own connections too): a hung endpoint holds this many
# slots at most, never the others'.
PER_ENDPOINT_CONCURRENCY = 4
# Deliveries in flight per webhooks process, all endpoints together: 64 hung endpoints would be
# needed to fill it, and each of their requests ends at WEBHOOK_TIMEOUT_S.
MAX_CONCURRENT_DELIVERIES = 256
POLL_INTERVAL_S = 0.5
# A claimed delivery is due again this long after its request's timeout, should its process die.
LEASE_MARGIN_S = 5.0
# Response bodies kept with each attempt (enough to diagnose, not to bloat the database or to
# turn deliveries into a way of reading other servers).
RESPONSE_KEPT_CHARS = 2048
# Idle per-endpoint HTTP sessions are closed after this long.
SESSION_IDLE_S = 300.0
USER_AGENT = "Plaudit-Webhooks/1"

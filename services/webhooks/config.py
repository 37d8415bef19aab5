"""The webhooks service's own constants; everything configurable is in `shared.config.Settings`
(WEBHOOK_RETRY_SCHEDULE, WEBHOOK_TIMEOUT_S, WEBHOOK_SECRET_OVERLAP, WEBHOOK_DISABLE_AFTER,
WEBHOOK_ALLOW_PRIVATE)."""

from __future__ import annotations

from pathlib import Path

SERVICE = "webhooks"
MIGRATIONS = Path(__file__).parent / "migrations"

# Deliveries in flight per endpoint (its own connections too), its window (`windows.Windows`):
# a new or failing endpoint gets the start, so a hung endpoint holds that many slots at most,
# never the others'; each answer in time widens it by one, up to the widest, each failure of
# the endpoint's halves it. 2,000 deliveries/s to one receiver answering in ~10 ms needs ~20.
ENDPOINT_WINDOW_START = 4
ENDPOINT_WINDOW_WIDEST = 64
# Deliveries in flight per webhooks process, all endpoints together: 128 hung endpoints would be
# needed to fill it, and each of their requests ends at WEBHOOK_TIMEOUT_S.
MAX_CONCURRENT_DELIVERIES = 512
# Attempts recorded in one transaction at most.
MAX_SETTLE_BATCH = 256
POLL_INTERVAL_S = 0.5
# A claimed delivery is due again this long after its request's timeout, should its process die.
LEASE_MARGIN_S = 5.0
# Response bodies kept with each attempt (enough to diagnose, not to bloat the database or to
# turn deliveries into a way of reading other servers).
RESPONSE_KEPT_CHARS = 2048
# Idle per-endpoint HTTP sessions are closed after this long.
SESSION_IDLE_S = 300.0
USER_AGENT = "Plaudit-Webhooks/1"

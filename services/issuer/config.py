"""The issuer service's own constants; everything configurable is in `shared.config.Settings`."""

from __future__ import annotations

from pathlib import Path

SERVICE = "issuer"
MIGRATIONS = Path(__file__).parent / "migrations"

# Calls to Open Campus in flight at once, per issuer process.
MAX_CONCURRENT_CALLS = 8
# Due credentials are looked for this often (new ones wake the scheduler at once).
POLL_INTERVAL_S = 0.5
# A claimed attempt is due again this long after its call's timeout, should its process die.
LEASE_MARGIN_S = 5.0
# Circuit breaker, per API key: this many transient failures in a row open it for a cooldown of
# twice the first retry delay (10 s with the default schedule), within these bounds; then one
# call is let through to probe.
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN_MIN_S = 1.0
BREAKER_COOLDOWN_MAX_S = 30.0
# Open Campus answers kept with each attempt (enough to diagnose, not to bloat the database).
RESPONSE_KEPT_CHARS = 2048
# A verification, its fetches included, ends within this (the gateway waits a little longer).
VERIFY_BUDGET_S = 10.0
# One fetch of another issuer's document (a DID document, a status list, a credential).
FETCH_TIMEOUT_S = 4.0
# Badge images to bake, fetched from their URLs: larger than documents (Open Badges suggests
# under 256 KB; uploads are at most 1 MiB), and kept long, since every award of a badge bakes
# the same image and an image rarely changes: a replaced one shows in baked badges within the
# hour. The cache is bounded in bytes, each image at most a quarter of it.
IMAGE_MAX_BYTES = 2 << 20
IMAGE_CACHE_BYTES = 32 << 20
IMAGE_CACHE_TTL_S = 3600.0

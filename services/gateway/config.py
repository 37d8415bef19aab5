"""The gateway's own constants; everything configurable is in `shared.config.Settings`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

SERVICE = "gateway"
# What BadgeKit clients check on `/` and `/healthcheck`.
APP_NAME = "BadgeKit API"

# How long the gateway waits for the owning service's reply before answering 503.
REQUEST_TIMEOUT_S = 5.0
# Readiness probes must answer fast even when a service is down.
PROBE_TIMEOUT_S = 1.0
# Bodies carry JSON, forms and images (uploaded images are limited separately).
CLIENT_MAX_SIZE = 4 * 1024 * 1024
# `POST /public/verify`, per client address and gateway process: each verification costs the
# issuer CPU and perhaps outbound requests. A person checking badges by hand stays far below.
VERIFY_RATE_PER_S = 1.0
VERIFY_RATE_BURST = 20
# A baked image is larger than a credential; a badge image of 2 MiB is already a large one.
VERIFY_MAX_BYTES = 2 * 1024 * 1024
# The issuer ends a verification within 10 s (its fetches included): wait a little longer.
VERIFY_TIMEOUT_S = 12.0
# A baked badge: the issuer may fetch the image (4 s at most) and rasterise it.
BAKE_TIMEOUT_S = 10.0
# API consumer secrets are remembered this long (DESIGN.md: at most 5 s), unknown keys too.
CONSUMER_CACHE_TTL_S = 5.0
CONSUMER_CACHE_SIZE = 10_000
# A slug's system id changes only when the system is deleted, which every gateway hears at once
# (`system.deleted`), and the cache is cleared after a reconnection: the TTL bounds only a
# broadcast lost some other way. At 60 s a system read once a second still costs badges one
# look-up a minute.
SYSTEM_CACHE_TTL_S = 60.0
# A slug no system has: creations are not broadcast, so another gateway's new system under it
# answers 404 here for at most this long.
SYSTEM_CACHE_UNKNOWN_TTL_S = 1.0
SYSTEM_CACHE_SIZE = 10_000
# The hot reads' answers (a badge, a badge list, a public assertion): dropped at once on a change
# (by this gateway's own writes, by the change's event on the others, by a reconnection), so the
# TTL bounds only a change whose event was lost. DESIGN.md allows a public document 10 s to show
# a revocation, server-side caches included.
READ_CACHE_TTL_S = 5.0
READ_CACHE_SIZE = 10_000
# Bytes of answers kept (bodies and a fixed overhead each): a list of every badge of a large
# system is a few MB, and the gateway must stay under 100 MB RSS.
READ_CACHE_BYTES = 16 * 1024 * 1024
# The award pages' verification reports (`pages/reports.py`): a revocation or an expiry shows at
# once all the same (the badges service says it first); what only a report shows (a signing key
# retired) shows within REPORT_STALE_S. Each report costs the issuer a proof verification.
REPORT_TTL_S = 30.0
REPORT_STALE_S = 120.0
REPORT_CACHE_SIZE = 10_000
# Time allowed to finish requests in flight on SIGTERM.
SHUTDOWN_TIMEOUT_S = 10.0
# Kept alive between requests this long (web.run_app's default).
KEEPALIVE_TIMEOUT_S = 75.0
# The parser's limits: the request line (its URL) as aiohttp's default, each header twice that.
# A signed request's token carries its path, base64url-encoded (a third longer), so a URL near
# its limit needs an Authorization header of about 11 kB. Beyond either limit, a JSON error.
MAX_REQUEST_LINE_SIZE = 8190
MAX_HEADER_FIELD_SIZE = 16384

try:
    VERSION = version("plaudit")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was not installed
    VERSION = "0.0.0"

"""Typed keys of the gateway's application and request state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from services.gateway.auth import Authenticator, Principal
from services.gateway.consumers import ConsumerCache
from services.gateway.pages.rendering import Pages
from services.gateway.pages.reports import Reports
from services.gateway.ratelimit import RateLimiter
from services.gateway.read_cache import ReadCache
from services.gateway.systems import SystemCache
from shared.bus import Bus
from shared.config import Settings
from shared.rpc_client import RpcClient

settings_key = web.AppKey("settings", Settings)
bus_key = web.AppKey("bus", Bus)
rpc_key = web.AppKey("rpc", RpcClient)
consumers_key = web.AppKey("consumers", ConsumerCache)
systems_key = web.AppKey("systems", SystemCache)
read_cache_key = web.AppKey("read_cache", ReadCache)
authenticator_key = web.AppKey("authenticator", Authenticator)
rate_limiter_key = web.AppKey("rate_limiter", RateLimiter)
# `POST /public/verify`: unauthenticated, so limited per client address instead of per key.
verify_limiter_key = web.AppKey("verify_limiter", RateLimiter)
# The public pages' compiled templates and static files.
pages_key = web.AppKey("pages", Pages)
# The award pages' verification reports, kept longer than the pages.
reports_key = web.AppKey("reports", Reports)
# The OpenAPI document of the route table, by version (a function: the table imports the views).
ApiDocument = Callable[[str], dict[str, Any]]
api_document_key: web.AppKey[ApiDocument] = web.AppKey("api_document")

correlation_key = web.RequestKey("correlation_id", str)
principal_key = web.RequestKey("principal", Principal)
body_key = web.RequestKey("body", bytes)

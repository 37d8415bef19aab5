"""Composition root of the issuer service."""

from __future__ import annotations

from services.issuer import handlers
from services.issuer.config import MIGRATIONS, SERVICE
from services.issuer.deps import make_deps
from shared import topology
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers=handlers.REQUEST_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.ISSUER_EVENTS.name,
    workers=lambda deps, pool: [deps.scheduler, deps.fetcher, deps.image_fetcher],
)

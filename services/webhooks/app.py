"""Composition root of the webhooks service."""

from __future__ import annotations

from services.webhooks import handlers
from services.webhooks.config import MIGRATIONS, SERVICE
from services.webhooks.deps import make_deps
from services.webhooks.repository import expired_deliveries
from shared import topology
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers=handlers.REQUEST_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.WEBHOOKS_EVENTS.name,
    housekeeping=lambda settings: (expired_deliveries(settings.webhook_log_retention),),
    workers=lambda deps, pool: [deps.dispatcher],
)

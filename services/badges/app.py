"""Composition root of the badges service."""

from __future__ import annotations

from services.badges import handlers
from services.badges.backfill import OpenBadgeBackfill
from services.badges.config import MIGRATIONS, SERVICE
from services.badges.deps import make_deps
from services.badges.importing import ABANDONED_UPLOADS, ImportRunner
from shared import topology
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers=handlers.REQUEST_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.BADGES_EVENTS.name,
    housekeeping=lambda settings: (ABANDONED_UPLOADS,),
    workers=lambda deps, pool: [OpenBadgeBackfill(pool, deps.base_url), ImportRunner(pool, deps)],
)

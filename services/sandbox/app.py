"""Composition root of the sandbox: `create_app(api_keys)`, all state in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import web

from services.sandbox.admin import admin_errors, setup_admin_routes
from services.sandbox.config import ADMIN_PREFIX, CLIENT_MAX_SIZE
from services.sandbox.faults import Faults
from services.sandbox.issuance import issue
from services.sandbox.keys import closing_key, faults_key, ledger_key
from services.sandbox.ledger import Ledger
from shared.opencampus import ISSUE_PATH


def create_app(api_keys: Iterable[str], *, base_path: str = "") -> web.Application:
    """`base_path` is the path of OPEN_CAMPUS_BASE_URL, if any: the API answers under it, as
    the client calls it; the admin API always answers at `/_sandbox/`."""
    app = web.Application(client_max_size=CLIENT_MAX_SIZE, middlewares=[admin_errors])
    app[ledger_key] = Ledger(api_keys)
    app[faults_key] = Faults()
    app[closing_key] = asyncio.Event()
    app.router.add_post(base_path.rstrip("/") + ISSUE_PATH, issue)
    setup_admin_routes(app, ADMIN_PREFIX)
    app.on_shutdown.append(_release_held_answers)
    return app


async def _release_held_answers(app: web.Application) -> None:
    app[closing_key].set()

"""The typed keys of the sandbox application's state."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.sandbox.faults import Faults
from services.sandbox.ledger import Ledger

ledger_key = web.AppKey("ledger", Ledger)
faults_key = web.AppKey("faults", Faults)
# Set when the process stops, so held (`slow`) answers go out at once.
closing_key = web.AppKey("closing", asyncio.Event)

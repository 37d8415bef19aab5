"""The `webhooks` scenario's receivers and measure: deliveries per second to a healthy endpoint
while another endpoint of the same system hangs.

The load generator runs two receivers on 127.0.0.1 before the scenario registers them (through
the API, for `badge.awarded`): a healthy one (aiohttp) that answers 200 at once and counts each
delivery by its `webhook-id` and by the award it carries (the scenario's e-mails carry the
award's number, as `bench.credentials` reads them), verifying a sample of signatures with the
`standardwebhooks` package; and a hanging one, which accepts connections, reads what comes and
never answers. The run's bulk awards make the events; after it, the harness waits (at most
`--drain`) for every award's delivery, then reports the rate from the first delivery to the
last, duplicates (a `webhook-id` twice), the awards never delivered, and the time from each
award's `201` to its delivery (both clocks the machine's realtime clock).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bench.credentials import DEFAULT_DRAIN_S, award_index
from bench.runner import say
from bench.stats import format_ms, summary_ms

HOST = "127.0.0.1"
# Signatures verified: the first deliveries, then one in so many.
VERIFY_FIRST = 20
VERIFY_EVERY = 500
POLL_S = 0.25
READ_CHUNK = 65536


@dataclass
class DeliveryTally:
    """What the healthy receiver got: each `webhook-id`'s count, and the first arrival (unix
    seconds) of each award of the run by its number."""

    run_id: str
    received: int = 0
    ids: dict[str, int] = field(default_factory=dict)
    delivered_at: dict[int, float] = field(default_factory=dict)
    foreign: int = 0  # deliveries of something else than this run's awards
    first_at: float | None = None
    last_at: float | None = None  # the last new delivery
    verified: int = 0
    refused: int = 0  # signatures standardwebhooks refused

    def record(self, webhook_id: str, email: str | None, at: float) -> None:
        self.received += 1
        seen = self.ids.get(webhook_id, 0)
        self.ids[webhook_id] = seen + 1
        if seen:
            return
        if self.first_at is None:
            self.first_at = at
        self.last_at = at
        index = award_index(email, self.run_id) if email else None
        if index is None:
            self.foreign += 1
        else:
            self.delivered_at.setdefault(index, at)

    @property
    def distinct(self) -> int:
        return len(self.ids)

    @property
    def duplicates(self) -> int:
        return self.received - self.distinct

    def to_verify(self) -> bool:
        """Whether the delivery being counted now has its signature checked."""
        return self.received < VERIFY_FIRST or self.received % VERIFY_EVERY == 0


class WebhookTargets:
    """The two receivers: their URLs, for the scenario to register, and what they saw."""

    def __init__(self, run_id: str) -> None:
        self.tally = DeliveryTally(run_id)
        self.secret: str | None = None  # the healthy endpoint's, once registered
        self.hung = 0  # connections the hanging receiver accepted (none answered)
        self.healthy_url = ""
        self.hanging_url = ""
        self._runner: web.AppRunner | None = None
        self._hanging: asyncio.Server | None = None
        self._held: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/healthy", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.healthy_url = f"http://{HOST}:{self._runner.addresses[0][1]}/healthy"
        self._hanging = await asyncio.start_server(self._hang, HOST, 0)
        port = self._hanging.sockets[0].getsockname()[1]
        self.hanging_url = f"http://{HOST}:{port}/hanging"

    async def close(self) -> None:
        for writer in self._held:
            writer.close()
        if self._hanging is not None:
            self._hanging.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        at = time.time()
        tally = self.tally
        if self.secret is not None and tally.to_verify():
            try:
                Webhook(self.secret).verify(body, dict(request.headers))
                tally.verified += 1
            except WebhookVerificationError:
                tally.refused += 1
        try:
            email = orjson.loads(body)["data"].get("email")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            email = None
        tally.record(request.headers.get("webhook-id", ""), email, at)
        return web.Response()

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hung += 1
        self._held.add(writer)
        try:
            with suppress(ConnectionError):
                while await reader.read(READ_CHUNK):
                    pass  # read what comes, answer nothing
        finally:
            self._held.discard(writer)
            writer.close()


@asynccontextmanager
async def receiving(run_id: str) -> AsyncIterator[WebhookTargets]:
    targets = WebhookTargets(run_id)
    try:
        await targets.start()
        yield targets
    finally:
        await targets.close()


async def drain(tally: DeliveryTally, expected: int, deadline_s: float = DEFAULT_DRAIN_S) -> float:
    """Wait until `expected` distinct deliveries arrived, or the deadline; the seconds waited.
    A progress line every second."""
    started = time.monotonic()
    last_count, last_at = tally.distinct, started
    while True:
        now = time.monotonic()
        if tally.distinct >= expected or now - started >= deadline_s:
            return now - started
        if now - last_at >= 1.0:
            rate = (tally.distinct - last_count) / (now - last_at)
            say(f"deliveries: {tally.distinct:,} of {expected:,} ({rate:,.0f}/s)")
            last_count, last_at = tally.distinct, now
        await asyncio.sleep(POLL_S)


def summarise(
    tally: DeliveryTally,
    answered_at: Mapping[int, float],
    per_request: int,
    drained_s: float,
    hung: int,
) -> dict[str, Any]:
    """Deliveries of the awards of every request answered 2xx (request number -> unix seconds
    its answer arrived; each request awards `per_request` numbers from number x per_request)."""
    expected = {
        number * per_request + offset for number in answered_at for offset in range(per_request)
    }
    lags = [
        at - answered_at[index // per_request]
        for index, at in tally.delivered_at.items()
        if index in expected
    ]
    missing = sorted(expected - tally.delivered_at.keys())
    span = (
        tally.last_at - tally.first_at
        if tally.first_at is not None and tally.last_at is not None
        else 0.0
    )
    return {
        "events": len(expected),
        "delivered": len(lags),
        "received": tally.received,
        "duplicates": tally.duplicates,
        "foreign": tally.foreign,
        "missing": len(missing),
        "missing_sample": missing[:10],
        "drained_s": round(drained_s, 3),
        "first_to_last_s": round(span, 3),
        "rate_per_s": (tally.distinct - 1) / span if span > 0 else None,
        "from_answer_ms": summary_ms(lags),
        "before_answer": sum(1 for lag in lags if lag < 0),
        "signatures": {"verified": tally.verified, "refused": tally.refused},
        "hanging_connections": hung,
    }


def failed(deliveries: dict[str, Any]) -> bool:
    """Awards never delivered, or a signature refused: the run failed."""
    return bool(deliveries["missing"] or deliveries["signatures"]["refused"])


def rate_line(deliveries: dict[str, Any], failed_requests: int) -> str:
    """The delivery rate, only when every request succeeded and every award was delivered."""
    if failed_requests or failed(deliveries):
        reasons = []
        if failed_requests:
            reasons.append(f"{failed_requests:,} requests failed or were never sent")
        if deliveries["missing"]:
            reasons.append(f"{deliveries['missing']:,} awards never delivered")
        if deliveries["signatures"]["refused"]:
            reasons.append(f"{deliveries['signatures']['refused']:,} signatures refused")
        return "  rate         not reported: " + ", ".join(reasons)
    if deliveries["rate_per_s"] is None:
        return "  rate         not reported: fewer than two deliveries"
    return (
        f"  rate         {deliveries['rate_per_s']:,.1f} deliveries/s to the healthy endpoint, "
        f"from the first to the last ({deliveries['first_to_last_s']:.1f} s)"
    )


def render(
    deliveries: dict[str, Any],
    failed_requests: int,
    cpu_per_delivery: dict[str, float] | None,
    *,
    backlog: bool = False,
) -> list[str]:
    lines = [
        f"webhooks     {deliveries['events']:,} badge.awarded events, {deliveries['delivered']:,} "
        f"delivered to the healthy endpoint, {deliveries['missing']:,} missing after "
        f"{deliveries['drained_s']:.1f} s of drain; {deliveries['duplicates']:,} duplicate "
        f"webhook-ids, {deliveries['foreign']:,} other deliveries",
        rate_line(deliveries, failed_requests),
    ]
    if deliveries["from_answer_ms"]:
        lines.append(f"  201 → delivery  {format_ms(deliveries['from_answer_ms'])} ms")
    if deliveries["before_answer"]:
        lines.append(f"  ({deliveries['before_answer']:,} delivered before their 201 arrived)")
    signatures = deliveries["signatures"]
    lines.append(
        f"  signatures   {signatures['verified']:,} of a sample verified by standardwebhooks, "
        f"{signatures['refused']:,} refused"
    )
    lines.append(
        f"  hanging      {deliveries['hanging_connections']:,} connections accepted by the "
        "hanging endpoint, none answered"
    )
    if cpu_per_delivery:
        span = (
            "from the webhooks service's resumption to the drain's end (the fan-out included)"
            if backlog
            else "from the first request to the drain's end (the awards' work included)"
        )
        lines.append(
            f"  cpu per delivery, ms, {span}: "
            + ", ".join(f"{label} {ms:.3f}" for label, ms in cpu_per_delivery.items())
        )
    if deliveries["missing"]:
        lines.append(
            f"FAILED: {deliveries['missing']:,} awards without a delivery after "
            f"{deliveries['drained_s']:.1f} s (award numbers {deliveries['missing_sample']} ...)"
        )
    return lines

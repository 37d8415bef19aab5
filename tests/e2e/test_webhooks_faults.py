"""Webhooks under faults, each on a stack of its own: an endpoint failing without a success for
WEBHOOK_DISABLE_AFTER is disabled (one that recovers in between is not); a SIGKILL of the
webhooks service in the middle of a fan-out loses no delivery; with the SSRF guard on, private
targets are refused at registration and blocked at send time; a secret that no key of
PLAUDIT_ENCRYPTION_KEY decrypts fails its delivery at once, recoverable once the key is back."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from services.webhooks.dispatcher import SECRET_UNREADABLE
from tests.e2e.test_webhooks_api import (
    DEADLINE_S,
    award,
    deliveries,
    register,
    settled,
    verified,
    webhook,
)
from tests.support.client import Client
from tests.support.events import eventually
from tests.support.factories import make_badge, make_system
from tests.support.receivers import Received, Receivers, Reply, always, receiving
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


def client_for(stack: Stack, http: aiohttp.ClientSession) -> Client:
    return Client(http, stack.base_url, stack.settings.master_secret_value)


async def restart_webhooks(stack: Stack, **env: str) -> None:
    """Restart the webhooks service with `env` changed (the rest of the stack runs on)."""
    stack.stop("webhooks")
    stack.env.update(env)
    await asyncio.to_thread(stack.start, "webhooks")


def uids(requests: list[Received]) -> set[str]:
    return {request.json()["data"]["uid"] for request in requests}


# --- disabling an endpoint that keeps failing -----------------------------------------------------


def alternating(n: int) -> Reply:
    """500, 200, 500, 200, ...: failing half the time, never for long."""
    return Reply(500 if n % 2 == 0 else 200)


async def test_an_endpoint_failing_for_the_window_without_a_success_is_disabled(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession, receivers: Receivers
) -> None:
    window_s = 2.0
    stack = own_stack(
        WEBHOOK_RETRY_SCHEDULE=",".join(["200ms"] * 40), WEBHOOK_DISABLE_AFTER=f"{window_s}s"
    )
    stack.start()
    client = client_for(stack, http)
    down, flaky = await receivers.new(always(500)), await receivers.new(alternating)
    system = await make_system(client)
    badge = await make_badge(client, system)
    down_hook = await register(client, system, down.url, events=["badge.awarded"])
    flaky_hook = await register(client, system, flaky.url, events=["badge.awarded"])

    # Awards keep coming, so the flaky endpoint is tried all along the window too.
    deadline = time.monotonic() + DEADLINE_S
    awarded = 0
    while (await webhook(client, system, down_hook["id"]))["enabled"]:
        assert time.monotonic() < deadline, "the failing endpoint was never disabled"
        await award(client, badge)
        awarded += 1
        await asyncio.sleep(0.3)

    disabled = await webhook(client, system, down_hook["id"])
    assert disabled["disabledReason"].startswith("failing without a success since")
    failing_for = down.requests[-1].at - down.requests[0].at
    assert window_s - 0.5 <= failing_for < window_s + 3
    # Its deliveries are failed, to be recovered once it is fixed; nothing more is sent.
    logged = await deliveries(client, system, down_hook["id"])
    assert {d["status"] for d in logged} == {"failed"}
    sent = len(down.requests)
    await award(client, badge)
    await flaky.wait(lambda seen: len(uids(seen)) == awarded + 1, "the last award", DEADLINE_S)
    assert len(down.requests) == sent

    assert (await webhook(client, system, flaky_hook["id"]))["enabled"] is True
    assert flaky.requests[-1].at - flaky.requests[0].at >= window_s - 0.5
    assert any(r.status == 500 for r in flaky.requests)


# --- SIGKILL during a fan-out ---------------------------------------------------------------------


def slowish(_: int) -> Reply:
    return Reply(200, delay_s=0.05)  # keeps requests in flight when the process dies


async def test_sigkill_during_a_fan_out_loses_no_delivery(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession, receivers: Receivers
) -> None:
    stack = own_stack(WEBHOOK_TIMEOUT_S="2", WEBHOOK_RETRY_SCHEDULE="200ms,500ms,1s,1s,1s,1s,1s")
    stack.start()
    client = client_for(stack, http)
    system = await make_system(client)
    badge = await make_badge(client, system)
    ends = [await receivers.new(slowish) for _ in range(3)]
    hooks = [await register(client, system, end.url, events=["badge.awarded"]) for end in ends]
    everything = await receivers.new()  # and one taking every event
    hooks.append(await register(client, system, everything.url))
    ends.append(everything)

    awarded: set[str] = set()
    limit = asyncio.Semaphore(8)

    async def one() -> None:
        async with limit:
            awarded.add((await award(client, badge))["slug"])

    burst = [asyncio.create_task(one()) for _ in range(40)]

    def received() -> int:
        return sum(len(end.requests) for end in ends)

    await eventually(lambda: asyncio.sleep(0, received() >= 20), "deliveries under way", 60)
    stack.kill("webhooks")
    at_kill = received()
    await asyncio.to_thread(stack.start, "webhooks")
    await asyncio.gather(*burst)
    assert at_kill < 4 * len(burst), "the fan-out was over before the kill"

    for end, hook in zip(ends, hooks, strict=True):
        await end.wait(lambda seen: uids(seen) >= awarded, "every award", 60)
        for request in end.requests:
            verified(request, hook["secret"])
        # Each award has one webhook-id at each endpoint, whatever was sent twice.
        by_uid: dict[str, set[str]] = {}
        for request in end.requests:
            if request.json()["type"] == "badge.awarded":
                by_uid.setdefault(request.json()["data"]["uid"], set()).add(request.webhook_id)
        assert all(len(ids) == 1 for ids in by_uid.values())
    for hook in hooks:
        logged = await settled(client, system, hook["id"], len(awarded), "succeeded")
        assert len([d for d in logged if d["eventType"] == "badge.awarded"]) == len(awarded)


# --- the SSRF guard -------------------------------------------------------------------------------

REFUSED = [
    ("http://127.0.0.1:8080/hook", "loopback address"),
    ("http://localhost:8080/hook", "localhost name"),
    ("http://LOCALHOST./hook", "localhost name"),
    ("http://hooks.localhost/hook", "localhost name"),
    ("http://[::1]:8080/hook", "loopback address"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "link-local address"),
    ("http://[fd00:ec2::254]/latest", "unique local address"),
    ("http://10.0.0.1/hook", "private address"),
    ("http://172.16.5.4/hook", "private address"),
    ("https://192.168.1.1/hook", "private address"),
    ("http://100.64.0.1/hook", "carrier-grade NAT address"),
    ("http://0.0.0.0:8080/hook", "'this network' address"),
    ("http://2130706433/hook", "loopback address"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001/hook", "loopback address"),
    ("http://017700000001/hook", "loopback address"),
    ("http://127.1/hook", "loopback address"),
    ("http://224.0.0.1/hook", "multicast address"),
]


def loopback_alias() -> str | None:
    """A host name (not `localhost`) that resolves to 127.0.0.1 alone here, if there is one:
    the machine's own name usually does."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        return None
    loopback = all(ipaddress.ip_address(address).is_loopback for address in found)
    return name if found == {"127.0.0.1"} and loopback and "localhost" not in name else None


async def test_the_ssrf_guard_refuses_private_targets_and_blocks_them_at_send_time(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession, receivers: Receivers
) -> None:
    stack = own_stack(WEBHOOK_RETRY_SCHEDULE="100ms,100ms")
    stack.start()  # the guard off, as in development: endpoints on this machine are taken
    client = client_for(stack, http)
    receiver = await receivers.new()
    port = receiver.url.split(":")[-1].rstrip("/")
    system = await make_system(client)
    targets = [receiver.url]
    alias = loopback_alias()
    if alias is not None:  # a name that resolves to a blocked address: caught when resolved
        targets.append(f"http://{alias}:{port}/")
    hooks = [await register(client, system, url) for url in targets]
    for hook in hooks:
        await client.post(f"{system}/webhooks/{hook['id']}/test")
    await receiver.wait_count(len(hooks))  # reachable, with the guard off

    await restart_webhooks(stack, WEBHOOK_ALLOW_PRIVATE="false")

    for url, reason in REFUSED:
        answer = await client.post(f"{system}/webhooks", json={"url": url})
        assert answer.status == 400, (url, answer.body)
        assert answer.body["code"] == "ValidationError"
        [detail] = answer.body["details"]
        assert detail["field"] == "url"
        assert detail["message"] == f"Refused target: {reason}", url
    moved = await client.put(f"{system}/webhooks/{hooks[0]['id']}", json={"url": REFUSED[6][0]})
    assert moved.status == 400
    assert (await webhook(client, system, hooks[0]["id"]))["url"] == receiver.url
    # A name is taken (it is checked when resolved, at every send).
    await register(client, system, "https://hooks.example.org/plaudit")

    before = len(receiver.requests)
    for hook in hooks:
        await client.post(f"{system}/webhooks/{hook['id']}/test")
    blocked: list[dict[str, Any]] = []
    for hook in hooks:
        logged = await settled(client, system, hook["id"], 2)
        blocked.extend(a for d in logged for a in d["attempts"] if a["statusCode"] is None)
    assert blocked
    assert all(a["error"].startswith("blocked: ") for a in blocked), blocked
    assert "blocked: loopback address" in {a["error"] for a in blocked}
    if alias is not None:
        assert "blocked: host resolves only to blocked addresses" in {a["error"] for a in blocked}
    assert len(receiver.requests) == before


# --- a secret that cannot be decrypted ------------------------------------------------------------


async def test_a_secret_no_key_decrypts_fails_its_delivery_until_the_key_is_back(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession, receivers: Receivers
) -> None:
    stack = own_stack(PLAUDIT_ENCRYPTION_KEY="the-first-key")
    stack.start()
    client = client_for(stack, http)
    receiver = await receivers.new()
    system = await make_system(client)
    hook = await register(client, system, receiver.url)
    path = f"{system}/webhooks/{hook['id']}"
    await restart_webhooks(stack, PLAUDIT_ENCRYPTION_KEY="another-key")

    since = datetime.now(UTC)
    await client.post(f"{path}/test")
    [delivery] = await settled(client, system, hook["id"], 1, "failed")
    assert [a["error"] for a in delivery["attempts"]] == [SECRET_UNREADABLE]
    assert receiver.requests == []
    assert (await webhook(client, system, hook["id"]))["enabled"] is True
    assert not [line for line in stack.log_events("webhooks") if line.get("level") == "error"]

    # With the key back among PLAUDIT_ENCRYPTION_KEY's, the failed delivery is recovered.
    await restart_webhooks(stack, PLAUDIT_ENCRYPTION_KEY="another-key,the-first-key")
    answer = await client.post(f"{path}/recover", json={"since": since.isoformat()})
    assert answer.body["deliveries"] == [delivery["id"]]
    [request] = await receiver.wait_count(1)
    verified(request, hook["secret"])
    assert hook["secret"] not in stack.log_text("webhooks")

"""`plaudit`: sign tokens and requests, manage systems and keys, import awards from a file,
inspect dead letters.

The gateway URL comes from `--url`, else `PUBLIC_URL`, else `http://GATEWAY_HOST:GATEWAY_PORT`;
requests are signed with `--key`/`--secret`, else the master key and `MASTER_SECRET` (the
development default when it is unset, as `make run` uses).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

from shared import cli_import
from shared.bus import Bus
from shared.config import DEV_MASTER_SECRET
from shared.crypto import new_secret
from shared.deadletters import inspect, redrive
from shared.errors import AppError
from shared.logging import new_correlation_id
from shared.messages.common import Ping
from shared.rpc_client import RpcClient
from shared.tokens import mint, signed_headers


def _default_url() -> str:
    if os.environ.get("PUBLIC_URL"):
        return os.environ["PUBLIC_URL"].rstrip("/")
    host = os.environ.get("GATEWAY_HOST", "127.0.0.1")
    return f"http://{host}:{os.environ.get('GATEWAY_PORT', '8080')}"


def _body_bytes(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        sys.exit(f"plaudit: the body is not valid JSON ({error}); quote it, e.g. '{{\"a\": 1}}'")
    return text.encode()


def call(args: argparse.Namespace, method: str, path: str, body: bytes | None) -> tuple[int, Any]:
    headers = signed_headers(args.secret, method=method, path=path, body=body, key=args.key)
    request = urllib.request.Request(
        args.url + path, data=body, method=method.upper(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except urllib.error.URLError as error:
        sys.exit(
            f"plaudit: cannot reach the gateway at {args.url} ({error.reason}); is it running?"
        )
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


def _print_answer(status: int, answer: Any) -> int:
    print(json.dumps(answer, indent=2) if not isinstance(answer, str) else answer)
    return 0 if status < 400 else 1


def cmd_token(args: argparse.Namespace) -> int:
    print(
        mint(
            args.secret,
            method=args.method,
            path=args.path,
            body=_body_bytes(args.body),
            key=args.key,
            ttl_s=args.ttl,
        )
    )
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    return _print_answer(*call(args, args.method, args.path, _body_bytes(args.body)))


def cmd_create_system(args: argparse.Namespace) -> int:
    fields = {"slug": args.slug, "name": args.name, "url": args.system_url}
    if args.email:
        fields["email"] = args.email
    if args.description:
        fields["description"] = args.description
    return _print_answer(*call(args, "POST", "/systems", json.dumps(fields).encode()))


def cmd_create_consumer(args: argparse.Namespace) -> int:
    fields = {"description": args.description} if args.description else {}
    path = f"/systems/{args.system}/consumers"
    return _print_answer(*call(args, "POST", path, json.dumps(fields).encode()))


def cmd_gen_key(args: argparse.Namespace) -> int:
    print(new_secret())
    return 0


async def _ping(url: str, service: str, timeout_s: float) -> bool:
    bus = await Bus.connect(url, client_name="plaudit-cli")
    try:
        rpc = RpcClient(bus, name="cli")
        await rpc.start()
        try:
            await rpc.call(
                service, Ping(), correlation_id=new_correlation_id(), timeout_s=timeout_s
            )
        except AppError:
            return False
        finally:
            await rpc.stop()
    finally:
        await bus.close()
    return True


def cmd_ping(args: argparse.Namespace) -> int:
    """Exit 0 when the service answers: the gateway over HTTP, the others through the broker."""
    if args.service == "gateway":
        try:
            with urllib.request.urlopen(f"{args.url}/healthz", timeout=args.timeout) as response:
                ok = response.status == 200
        except OSError:
            ok = False
    else:
        url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
        try:
            ok = asyncio.run(_ping(url, args.service, args.timeout))
        except Exception:
            ok = False
    print(f"{args.service}: {'ok' if ok else 'not answering'}")
    return 0 if ok else 1


def cmd_dead_letters(args: argparse.Namespace) -> int:
    url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    if args.action == "list":
        for queue, count in asyncio.run(inspect(url)).items():
            print(f"{queue}\t{count}")
    else:
        moved = asyncio.run(redrive(url, args.queue))
        print(f"moved {moved} message(s) back to {args.queue}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="plaudit", description=__doc__.splitlines()[0])
    root.add_argument("--url", default=_default_url(), help="gateway base URL")
    root.add_argument("--key", default="master", help="API key (default: master)")
    root.add_argument(
        "--secret",
        default=os.environ.get("MASTER_SECRET", DEV_MASTER_SECRET),
        help="secret of the key (default: $MASTER_SECRET)",
    )
    commands = root.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="print a signed token for one request")
    token.add_argument("method")
    token.add_argument("path", help="path and query string, e.g. /systems?page=1&count=10")
    token.add_argument("body", nargs="?", help="JSON body the token covers")
    token.add_argument("--ttl", type=int, default=60, help="seconds until it expires")
    token.set_defaults(run=cmd_token)

    request = commands.add_parser("call", help="make a signed request and print the answer")
    request.add_argument("method")
    request.add_argument("path")
    request.add_argument("body", nargs="?", help="JSON body")
    request.set_defaults(run=cmd_call)

    system = commands.add_parser("create-system", help="create a system (master key)")
    system.add_argument("slug")
    system.add_argument("--name", required=True)
    system.add_argument("--system-url", required=True, help="the system's own web site")
    system.add_argument("--email")
    system.add_argument("--description")
    system.set_defaults(run=cmd_create_system)

    consumer = commands.add_parser("create-consumer", help="create an API key for a system")
    consumer.add_argument("system", help="the system's slug")
    consumer.add_argument("--description")
    consumer.set_defaults(run=cmd_create_consumer)

    gen_key = commands.add_parser("gen-key", help="print a new secret for PLAUDIT_ENCRYPTION_KEY")
    gen_key.set_defaults(run=cmd_gen_key)

    ping = commands.add_parser("ping", help="check that a service answers (health checks)")
    ping.add_argument("service", choices=["gateway", "badges", "issuer", "webhooks"])
    ping.add_argument("--timeout", type=float, default=3.0)
    ping.set_defaults(run=cmd_ping)

    cli_import.add_parser(commands)

    dead = commands.add_parser("dead-letters", help="inspect or redrive dead-letter queues")
    dead.add_argument("action", choices=["list", "redrive"])
    dead.add_argument("queue", nargs="?", default="", help="for redrive: e.g. issuer.events")
    dead.set_defaults(run=cmd_dead_letters)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "dead-letters" and args.action == "redrive" and not args.queue:
        sys.exit(
            "plaudit: name the queue to redrive, e.g. `plaudit dead-letters redrive issuer.events`"
        )
    sys.exit(args.run(args))

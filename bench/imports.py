"""`python -m bench imports [--rows N] [--bad N] [--spawn]`: one import of a generated CSV file
of N rows (a few of them invalid), timed: the upload (the file streamed to the badges service),
then the run (`ratePerS`, rows from start to finish), with the RSS of each service sampled
during the run and, with `--probe-rate R`, single awards sent at R/s meanwhile (their latency
against an idle system's)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.memory import read as read_memory
from bench.runner import say
from bench.scenarios import badge_fields
from bench.spawn import spawned_stack
from shared.config import DEV_MASTER_SECRET
from shared.tokens import authorization, mint

CHUNK = 64 * 1024
POLL_S = 0.5


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench imports")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--secret", default=DEV_MASTER_SECRET)
    parser.add_argument("--spawn", action="store_true", help="run on a stack of its own")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=10, help="invalid rows among them")
    parser.add_argument("--probe-rate", type=float, default=0.0, help="single awards a second")
    return parser.parse_args(argv)


class Api:
    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str) -> None:
        self.session, self.url, self.secret = session, url, secret

    async def call(self, method: str, path: str, body: Any = None, **more: Any) -> tuple[int, Any]:
        data = orjson.dumps(body) if body is not None else None
        token = mint(self.secret, method=method, path=path, body=data, **more)
        headers = {"Authorization": authorization(token)}
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.url + path, data=data, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)


def write_file(path: Path, rows: int, bad: int, run: str) -> str:
    """Write the file; its SHA-256 (hex), which the upload's token covers."""
    every = max(rows // max(bad, 1), 1)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        lines = ["email,name,comment\n"]
        for n in range(rows):
            email = f"{run}-{n}@example.org" if bad == 0 or n % every else f"bad-{n}"
            lines.append(f"{email},Learner {n},Imported\n")
        data = "".join(lines).encode()
        digest.update(data)
        out.write(data)
    return digest.hexdigest()


async def upload(api: Api, badge: str, path: Path, digest: str) -> tuple[int, Any]:
    target = f"{badge}/imports"
    token = mint(api.secret, method="POST", path=target, body_hash=digest, ttl_s=3600)

    async def chunks() -> Any:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk

    async with api.session.post(
        api.url + target,
        data=chunks(),
        headers={"Authorization": authorization(token), "Content-Type": "text/csv"},
    ) as response:
        return response.status, await response.json(content_type=None)


async def probe(
    api: Api, badge: str, rate: float, latencies: list[float], stop: asyncio.Event
) -> None:
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        body = {"email": f"probe-{uuid.uuid4().hex}@example.org"}
        status, _ = await api.call("POST", f"{badge}/instances", body)
        if status == 201:
            latencies.append(time.perf_counter() - started)
        n += 1
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))


def p99(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]:.1f} ms"


async def run(args: argparse.Namespace, pids: dict[str, int]) -> None:
    async with aiohttp.ClientSession() as session:
        api = Api(session, args.url, args.secret)
        slug = f"imp{uuid.uuid4().hex[:10]}"
        await api.call("POST", "/systems", {"slug": slug, "name": slug, "url": "https://e.org"})
        badge_body = {**badge_fields("reader"), "unique": False}
        status, answer = await api.call("POST", f"/systems/{slug}/badges", badge_body)
        assert status == 201, answer
        badge = f"/systems/{slug}/badges/reader"
        idle: list[float] = []
        if args.probe_rate:
            stop = asyncio.Event()
            task = asyncio.create_task(probe(api, badge, args.probe_rate, idle, stop))
            await asyncio.sleep(10)
            stop.set()
            await task
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "awards.csv"
            digest = write_file(path, args.rows, args.bad, slug)
            say(f"imports: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
            started = time.perf_counter()
            status, answer = await upload(api, badge, path, digest)
        uploaded = time.perf_counter() - started
        assert status == 202, answer
        job = answer["import"]
        say(f"imports: uploaded in {uploaded:.1f} s ({args.rows / uploaded:,.0f} rows/s)")
        busy: list[float] = []
        stop = asyncio.Event()
        prober = (
            asyncio.create_task(probe(api, badge, args.probe_rate, busy, stop))
            if args.probe_rate
            else None
        )
        peak: dict[str, float] = {}
        while True:
            _, answer = await api.call("GET", f"/systems/{slug}/imports/{job['id']}")
            job = answer["import"]
            for name, pid in pids.items():
                memory = read_memory(pid)
                if memory is not None:
                    peak[name] = max(peak.get(name, 0.0), memory.rss_kb / 1000)
            if job["state"] in ("completed", "cancelled", "failed"):
                break
            await asyncio.sleep(POLL_S)
        stop.set()
        if prober is not None:
            await prober
        rows = job["rows"]
        say(
            f"imports: {job['state']}: {rows['awarded']:,} awarded, {rows['failed']:,} failed"
            f" of {rows['total']:,}; {job['ratePerS']:,.0f} rows/s"
            f" ({job['startedAt']} to {job['finishedAt']})"
        )
        say("imports: peak RSS " + ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(peak.items())))
        if args.probe_rate:
            say(f"imports: single awards p99 idle {p99(idle)}, during the import {p99(busy)}")


def main(argv: list[str]) -> int:
    args = parse(argv)
    if not args.spawn:
        asyncio.run(run(args, {}))
        return 0
    with spawned_stack(master_secret=None, keep_logs=False) as stack:
        args.url = stack.base_url
        args.secret = stack.settings.master_secret_value
        pids = {name: process.pid for name, process in stack.processes.items()}
        asyncio.run(run(args, pids))
    return 0

"""Isolated Postgres databases and RabbitMQ vhosts for one test run.

Every run gets a database and a vhost of its own, named `plaudit_test_<random>`, dropped at the
end; the servers come from `DATABASE_URL` / `AMQP_URL` or the local defaults, and where neither is
reachable but Docker is, testcontainers starts them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import asyncpg

from shared.config import Settings

T = TypeVar("T")

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop (async
    tests create stacks too): in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def with_vhost(amqp_url: str, vhost: str) -> str:
    return urlunsplit(urlsplit(amqp_url)._replace(path=f"/{quote(vhost, safe='')}"))


async def _reachable(dsn: str, amqp_url: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()
        connection = await aio_pika.connect(amqp_url, timeout=3)
        await connection.close()
    except Exception:
        return False
    return True


class VhostAdmin:
    """Creates and deletes vhosts: with rabbitmqctl where the broker is local, else through the
    management API, else with the command inside a container."""

    def __init__(self, amqp_url: str, run: Callable[[list[str]], None] | None = None) -> None:
        self._user = urlsplit(amqp_url).username or "guest"
        self._password = urlsplit(amqp_url).password or "guest"
        self._host = urlsplit(amqp_url).hostname or "127.0.0.1"
        self._run = run or (self._rabbitmqctl if shutil.which("rabbitmqctl") else None)

    @staticmethod
    def _rabbitmqctl(args: list[str]) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)

    def _api(self, method: str, path: str, body: Mapping[str, object] | None = None) -> None:
        request = urllib.request.Request(
            f"http://{self._host}:15672/api/{path}",
            method=method,
            data=json.dumps(body or {}).encode(),
            headers={
                "content-type": "application/json",
                "authorization": "Basic "
                + base64.b64encode(f"{self._user}:{self._password}".encode()).decode(),
            },
        )
        urllib.request.urlopen(request, timeout=10).close()

    def create(self, vhost: str) -> None:
        if self._run is not None:
            self._run(["add_vhost", vhost])
            self._run(["set_permissions", "-p", vhost, self._user, ".*", ".*", ".*"])
        else:
            self._api("PUT", f"vhosts/{quote(vhost, safe='')}")
            perms = {"configure": ".*", "write": ".*", "read": ".*"}
            self._api("PUT", f"permissions/{quote(vhost, safe='')}/{self._user}", perms)

    def delete(self, vhost: str) -> None:
        if self._run is not None:
            self._run(["delete_vhost", vhost])
        else:
            self._api("DELETE", f"vhosts/{quote(vhost, safe='')}")


@dataclass
class Servers:
    admin_dsn: str
    amqp_url: str
    vhosts: VhostAdmin
    _containers: list[object] = field(default_factory=list)

    @classmethod
    def find(cls) -> Servers:
        dsn = with_database(os.environ.get("DATABASE_URL", DEFAULT_DSN), "postgres")
        amqp_url = with_vhost(os.environ.get("AMQP_URL", DEFAULT_AMQP), "/")
        if run_sync(_reachable(dsn, amqp_url)):
            return cls(dsn, amqp_url, VhostAdmin(amqp_url))
        if shutil.which("docker") is None:
            raise RuntimeError(
                f"Postgres ({dsn}) or RabbitMQ ({amqp_url}) is not reachable and Docker is "
                "missing: start them (.ci/run does) or point DATABASE_URL / AMQP_URL at them"
            )
        return cls._from_containers()

    @classmethod
    def _from_containers(cls) -> Servers:  # pragma: no cover - only where Docker runs
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        postgres = PostgresContainer("postgres:15-alpine", driver=None).start()
        rabbit = RabbitMqContainer("rabbitmq:3.13-management-alpine").start()
        dsn = with_database(postgres.get_connection_url(), "postgres")
        host, port = rabbit.get_container_host_ip(), rabbit.get_exposed_port(5672)
        amqp_url = f"amqp://guest:guest@{host}:{port}/"

        def run(args: list[str]) -> None:
            rabbit.exec(["rabbitmqctl", "-q", *args])

        return cls(dsn, amqp_url, VhostAdmin(amqp_url, run), [postgres, rabbit])

    def stop(self) -> None:
        for container in self._containers:
            container.stop()  # type: ignore[attr-defined]


@dataclass
class Isolation:
    """One database and one vhost, and the settings that point at them."""

    servers: Servers
    name: str = field(default_factory=lambda: f"plaudit_test_{uuid.uuid4().hex[:10]}")

    @property
    def database_url(self) -> str:
        return with_database(self.servers.admin_dsn, self.name)

    @property
    def amqp_url(self) -> str:
        return with_vhost(self.servers.amqp_url, self.name)

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "PLAUDIT_ENV": "test",
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            **overrides,
        }

    def settings(self, **overrides: str) -> Settings:
        values = {key.lower(): value for key, value in self.env(**overrides).items()}
        return Settings(**values)  # type: ignore[arg-type]

    def _admin(self, sql: str) -> None:
        async def execute() -> None:
            conn = await asyncpg.connect(self.servers.admin_dsn)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        run_sync(execute())

    def create(self) -> Isolation:
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.servers.vhosts.create(self.name)
        return self

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.servers.vhosts.delete(self.name)

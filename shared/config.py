"""Typed settings: exactly the environment variables of DESIGN.md (Configuration).

One `Settings` class serves every process; each reads the fields it needs. Settings are built
once in a process's entry point and passed down, so tests build variants without patching.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_MASTER_SECRET = "plaudit-development-master-secret"
DEV_ENCRYPTION_KEY = "plaudit-development-encryption-key"
# The sandbox of Open Campus that `make run` starts beside the services.
DEV_OPEN_CAMPUS_BASE_URL = "http://127.0.0.1:8090"
DEV_OPEN_CAMPUS_API_KEY = "sandbox-api-key"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def parse_duration(text: str) -> timedelta:
    """`"5s"`, `"30m"`, `"2h"`, `"5d"`, `"250ms"`; a bare number is seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 5s, 30m, 2h, 5d)")
    value, unit = match.groups()
    return timedelta(seconds=float(value) * _UNIT_SECONDS[unit])


def parse_schedule(text: str | list[Any] | tuple[Any, ...]) -> tuple[timedelta, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    schedule = tuple(
        item if isinstance(item, timedelta) else parse_duration(str(item)) for item in items
    )
    if not schedule:
        raise ValueError("a retry schedule needs at least one delay")
    return schedule


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str | list[Any] | tuple[Any, ...]) -> tuple[Network, ...]:
    """`"10.0.0.0/8, 192.168.1.7, fd00::/8"`: networks and single addresses; empty is none."""
    items = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for item in items:
        if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(item)
        elif str(item).strip():
            try:
                networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"not an address or network: {str(item).strip()!r} (use e.g. 10.0.0.0/8)"
                ) from None
    return tuple(networks)


Schedule = Annotated[tuple[timedelta, ...], NoDecode]
Duration = Annotated[timedelta, NoDecode]
Networks = Annotated[tuple[Network, ...], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    plaudit_env: Environment = Environment.PRODUCTION
    database_url: str = "postgresql://postgres@127.0.0.1:5432/plaudit"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    master_secret: SecretStr | None = None
    plaudit_encryption_key: SecretStr | None = None
    auth_max_token_ttl_s: int = Field(default=3600, gt=0)
    rate_limit_per_s: float = Field(default=200, gt=0)
    rate_limit_burst: int = Field(default=400, gt=0)
    # `POST /public/verify`, per client address and gateway process: each verification costs the
    # issuer CPU and perhaps outbound requests. A person checking badges by hand stays far below.
    verify_rate_per_s: float = Field(default=1.0, gt=0)
    verify_rate_burst: int = Field(default=20, gt=0)
    # The proxies in front of the gateway (an Ingress, a load balancer) whose X-Forwarded-For
    # is believed: behind them, the client address is the nearest one they forwarded for.
    # Nobody's by default, so a client never chooses its own address.
    trusted_proxies: Networks = ()
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    open_campus_base_url: str | None = None
    open_campus_api_key: SecretStr | None = None
    open_campus_timeout_s: float = Field(default=15, gt=0)
    open_campus_retry_schedule: Schedule = parse_schedule("5s,30s,2m,10m,30m,2h,6h")
    webhook_retry_schedule: Schedule = parse_schedule("5s,5m,30m,2h,5h,10h,10h")
    webhook_timeout_s: float = Field(default=15, gt=0)
    webhook_secret_overlap: Duration = timedelta(hours=24)
    webhook_disable_after: Duration = timedelta(days=5)
    # How long the delivery log keeps a settled delivery and its attempts (pending ones stay).
    webhook_log_retention: Duration = timedelta(days=30)
    webhook_allow_private: bool | None = None
    # The process's name among the replicas of its service (`badges-2`, shared/scale.py), set by
    # the dev runner: every log line carries it, so interleaved replicas can be told apart.
    plaudit_replica: str | None = None
    # Where a back-end process (badges, issuer, webhooks) answers its liveness and readiness
    # probes (shared/probes.py); no listener while HEALTH_PORT is unset. A port per process:
    # processes sharing a network (make run, the test stacks) must leave it unset or differ.
    # Loopback by default, like the gateway; a pod sets 0.0.0.0 for the kubelet. It serves no
    # data and takes no secret, so unlike the gateway it may listen anywhere in development.
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("open_campus_retry_schedule", "webhook_retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> tuple[timedelta, ...]:
        return parse_schedule(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> tuple[Network, ...]:
        return parse_networks(value)

    @field_validator(
        "webhook_secret_overlap", "webhook_disable_after", "webhook_log_retention", mode="before"
    )
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator(
        "master_secret",
        "plaudit_encryption_key",
        "public_url",
        "open_campus_base_url",
        "open_campus_api_key",
        "plaudit_replica",
        "health_port",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """An empty variable (`MASTER_SECRET=`) counts as unset, never as an empty secret."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("public_url", "open_campus_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _environment_defaults(self) -> Self:
        """Production must be configured; development and test get working defaults."""
        if self.plaudit_env is Environment.PRODUCTION:
            missing = [
                name
                for name in (
                    "master_secret",
                    "plaudit_encryption_key",
                    "public_url",
                    "open_campus_base_url",
                )
                if getattr(self, name) is None
            ]
            if missing:
                names = ", ".join(name.upper() for name in missing)
                raise ValueError(
                    f"PLAUDIT_ENV=production needs {names}; "
                    "set them, or set PLAUDIT_ENV=development for a local run"
                )
            defaults: dict[str, Any] = {"webhook_allow_private": False}
        else:
            defaults = {
                "master_secret": SecretStr(DEV_MASTER_SECRET),
                "plaudit_encryption_key": SecretStr(DEV_ENCRYPTION_KEY),
                "public_url": f"http://{self.gateway_host}:{self.gateway_port}",
                "open_campus_base_url": DEV_OPEN_CAMPUS_BASE_URL,
                "open_campus_api_key": SecretStr(DEV_OPEN_CAMPUS_API_KEY),
                "webhook_allow_private": True,
            }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        return self

    @property
    def is_production(self) -> bool:
        return self.plaudit_env is Environment.PRODUCTION

    @property
    def master_secret_value(self) -> str:
        assert self.master_secret is not None  # set by _environment_defaults
        return self.master_secret.get_secret_value()

    @property
    def encryption_keys(self) -> list[str]:
        assert self.plaudit_encryption_key is not None
        keys = [k.strip() for k in self.plaudit_encryption_key.get_secret_value().split(",")]
        return [k for k in keys if k]

    @property
    def base_url(self) -> str:
        assert self.public_url is not None
        return self.public_url

    def development_defaults_in_use(self) -> list[str]:
        """Names of secrets still at their development default."""
        in_use = []
        if self.master_secret_value == DEV_MASTER_SECRET:
            in_use.append("MASTER_SECRET")
        if DEV_ENCRYPTION_KEY in self.encryption_keys:
            in_use.append("PLAUDIT_ENCRYPTION_KEY")
        return in_use

from __future__ import annotations

from datetime import timedelta

import pydantic
import pytest

from shared.config import (
    DEV_MASTER_SECRET,
    Environment,
    Settings,
    is_loopback_host,
    parse_duration,
    parse_schedule,
)

PRODUCTION = {
    "PLAUDIT_ENV": "production",
    "MASTER_SECRET": "m" * 40,
    "PLAUDIT_ENCRYPTION_KEY": "k" * 40,
    "PUBLIC_URL": "https://badges.example.org/",
    "OPEN_CAMPUS_BASE_URL": "https://api.vc.staging.opencampus.xyz",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


class TestEnvironment:
    def test_production_is_the_default_and_must_be_configured(self) -> None:
        with pytest.raises(pydantic.ValidationError) as caught:
            Settings()
        message = str(caught.value)
        for name in (
            "MASTER_SECRET",
            "PLAUDIT_ENCRYPTION_KEY",
            "PUBLIC_URL",
            "OPEN_CAMPUS_BASE_URL",
        ):
            assert name in message

    def test_production_reads_every_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(
            monkeypatch,
            **PRODUCTION,
            DATABASE_URL="postgresql://u@db:5432/p",
            AMQP_URL="amqp://u:p@mq:5672/v",
            AUTH_MAX_TOKEN_TTL_S="120",
            RATE_LIMIT_PER_S="5",
            RATE_LIMIT_BURST="10",
            GATEWAY_HOST="0.0.0.0",
            GATEWAY_PORT="9000",
            OPEN_CAMPUS_TIMEOUT_S="3",
            WEBHOOK_TIMEOUT_S="4",
        )
        assert settings.is_production
        assert settings.public_url == "https://badges.example.org"
        assert settings.database_url == "postgresql://u@db:5432/p"
        assert settings.amqp_url == "amqp://u:p@mq:5672/v"
        assert settings.auth_max_token_ttl_s == 120
        assert (settings.rate_limit_per_s, settings.rate_limit_burst) == (5, 10)
        assert (settings.gateway_host, settings.gateway_port) == ("0.0.0.0", 9000)
        assert (settings.open_campus_timeout_s, settings.webhook_timeout_s) == (3, 4)
        assert settings.webhook_allow_private is False
        assert settings.development_defaults_in_use() == []

    def test_blank_secrets_count_as_unset(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(pydantic.ValidationError, match="MASTER_SECRET"):
            settings_from(monkeypatch, **{**PRODUCTION, "MASTER_SECRET": ""})
        assert settings_from(
            monkeypatch, PLAUDIT_ENV="test", OPEN_CAMPUS_API_KEY=""
        ).open_campus_api_key

    def test_the_replica_name_is_read_and_blank_is_none(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        named = settings_from(monkeypatch, PLAUDIT_ENV="test", PLAUDIT_REPLICA="badges-2")
        assert named.plaudit_replica == "badges-2"
        assert settings_from(monkeypatch, PLAUDIT_REPLICA=" ").plaudit_replica is None

    def test_no_health_listener_unless_a_port_is_given(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        unset = settings_from(monkeypatch, PLAUDIT_ENV="test")
        assert (unset.health_host, unset.health_port) == ("127.0.0.1", None)
        assert settings_from(monkeypatch, HEALTH_PORT="").health_port is None
        given = settings_from(monkeypatch, HEALTH_HOST="0.0.0.0", HEALTH_PORT="8081")
        assert (given.health_host, given.health_port) == ("0.0.0.0", 8081)
        for wrong in ("0", "65536", "http"):
            with pytest.raises(pydantic.ValidationError, match="health_port"):
                settings_from(monkeypatch, HEALTH_PORT=wrong)

    def test_trusted_proxies_are_a_comma_list_of_networks(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert settings_from(monkeypatch, PLAUDIT_ENV="test").trusted_proxies == ()
        settings = settings_from(monkeypatch, TRUSTED_PROXIES="10.0.0.0/8, 192.168.1.7,fd00::/8,")
        assert [str(network) for network in settings.trusted_proxies] == [
            "10.0.0.0/8",
            "192.168.1.7/32",
            "fd00::/8",
        ]
        with pytest.raises(pydantic.ValidationError, match=r"not an address or network: '10\.0"):
            settings_from(monkeypatch, TRUSTED_PROXIES="10.0.0.0/8,10.0.x")

    def test_development_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(monkeypatch, PLAUDIT_ENV="development", GATEWAY_PORT="8181")
        assert settings.plaudit_env is Environment.DEVELOPMENT
        assert settings.master_secret_value == DEV_MASTER_SECRET
        assert settings.public_url == "http://127.0.0.1:8181"
        assert settings.webhook_allow_private is True
        assert settings.open_campus_base_url is not None
        assert settings.development_defaults_in_use() == ["MASTER_SECRET", "PLAUDIT_ENCRYPTION_KEY"]

    def test_explicit_values_win_in_development(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(
            monkeypatch, PLAUDIT_ENV="test", MASTER_SECRET="s" * 40, WEBHOOK_ALLOW_PRIVATE="false"
        )
        assert settings.master_secret_value == "s" * 40
        assert settings.webhook_allow_private is False

    def test_encryption_keys_are_a_comma_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(
            monkeypatch, PLAUDIT_ENV="test", PLAUDIT_ENCRYPTION_KEY="new, old,"
        )
        assert settings.encryption_keys == ["new", "old"]

    def test_secrets_do_not_show_in_repr(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(monkeypatch, **PRODUCTION)
        assert "m" * 40 not in repr(settings)

    def test_invalid_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(pydantic.ValidationError):
            settings_from(monkeypatch, PLAUDIT_ENV="staging")


class TestSchedules:
    def test_default_schedules(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(monkeypatch, PLAUDIT_ENV="test")
        assert settings.webhook_retry_schedule[:3] == (
            timedelta(seconds=5),
            timedelta(minutes=5),
            timedelta(minutes=30),
        )
        assert len(settings.open_campus_retry_schedule) == 7
        assert settings.webhook_secret_overlap == timedelta(hours=24)
        assert settings.webhook_disable_after == timedelta(days=5)
        assert settings.webhook_log_retention == timedelta(days=30)

    def test_schedule_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = settings_from(
            monkeypatch,
            PLAUDIT_ENV="test",
            WEBHOOK_RETRY_SCHEDULE="100ms,1s,2m",
            WEBHOOK_DISABLE_AFTER="2d",
            WEBHOOK_LOG_RETENTION="90d",
        )
        assert settings.webhook_retry_schedule == (
            timedelta(milliseconds=100),
            timedelta(seconds=1),
            timedelta(minutes=2),
        )
        assert settings.webhook_disable_after == timedelta(days=2)
        assert settings.webhook_log_retention == timedelta(days=90)

    @pytest.mark.parametrize("text", ["", "5x", "soon", "-1s"])
    def test_bad_durations(self, text: str) -> None:
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(text)

    def test_empty_schedule(self) -> None:
        with pytest.raises(ValueError, match="not a duration"):
            parse_schedule("")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.0.0.2", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback

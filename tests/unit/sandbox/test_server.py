"""The process around the app: where it listens, which keys, never in production; and when
`make run` starts it (only where nothing answers yet)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from pydantic import SecretStr

from services.devrun import OpenCampus, open_campus_at, wants_sandbox
from services.sandbox.server import api_keys, listen_address, parse_args, serve
from shared.config import DEV_OPEN_CAMPUS_API_KEY, DEV_OPEN_CAMPUS_BASE_URL, Settings
from tests.support.stack import free_port
from tests.unit.sandbox.conftest import Sandbox, running


def settings(**values: str) -> Settings:
    base = {"plaudit_env": "development", "open_campus_api_key": DEV_OPEN_CAMPUS_API_KEY}
    return Settings(**{**base, "open_campus_base_url": DEV_OPEN_CAMPUS_BASE_URL, **values})  # type: ignore[arg-type]


def production(**values: str) -> Settings:
    return settings(
        plaudit_env="production",
        master_secret="m" * 40,
        plaudit_encryption_key="k" * 40,
        public_url="https://badges.example.org",
        **values,
    )


class TestListenAddress:
    def test_where_open_campus_base_url_says(self) -> None:
        assert listen_address(settings(), parse_args([])) == ("127.0.0.1", 8090, "")
        url = "http://localhost:9911/open-campus"
        found = listen_address(settings(open_campus_base_url=url), parse_args([]))
        assert found == ("localhost", 9911, "/open-campus")
        assert listen_address(settings(open_campus_base_url="http://0.0.0.0"), parse_args([]))[
            :2
        ] == ("0.0.0.0", 80)

    def test_flags_win(self) -> None:
        args = parse_args(["--host", "0.0.0.0", "--port", "7000"])
        assert listen_address(settings(), args) == ("0.0.0.0", 7000, "")
        assert listen_address(settings(), parse_args(["--port", "7001"]))[:2] == (
            "127.0.0.1",
            7001,
        )

    def test_an_https_url_needs_both_flags(self) -> None:
        remote = settings(open_campus_base_url="https://api.vc.staging.opencampus.xyz")
        with pytest.raises(SystemExit, match="plain http"):
            listen_address(remote, parse_args(["--port", "7000"]))
        args = parse_args(["--host", "127.0.0.1", "--port", "7000"])
        assert listen_address(remote, args) == ("127.0.0.1", 7000, "")


class TestKeys:
    def test_the_configured_key_and_the_flags(self) -> None:
        assert api_keys(settings(), parse_args([])) == [DEV_OPEN_CAMPUS_API_KEY]
        args = parse_args(["--api-key", "one", "--api-key", "two"])
        assert api_keys(settings(open_campus_api_key="mine"), args) == ["mine", "one", "two"]

    def test_the_key_is_a_secret(self) -> None:
        assert isinstance(settings().open_campus_api_key, SecretStr)


async def test_it_never_runs_in_production() -> None:
    with pytest.raises(SystemExit, match="PLAUDIT_ENV=production"):
        await serve(production(open_campus_base_url="http://127.0.0.1:1"), parse_args([]))


class TestMakeRun:
    @pytest.mark.parametrize(
        "url", [DEV_OPEN_CAMPUS_BASE_URL, "http://localhost:9000", "http://127.0.0.2:1/x"]
    )
    def test_starts_the_sandbox_for_a_local_target(self, url: str) -> None:
        assert wants_sandbox(settings(open_campus_base_url=url))

    @pytest.mark.parametrize(
        "url",
        [
            "https://api.vc.staging.opencampus.xyz",
            "http://10.0.0.5:8090",
            "http://sandbox:8090",
            "https://127.0.0.1:8090",
        ],
    )
    def test_not_for_any_other_target(self, url: str) -> None:
        assert not wants_sandbox(settings(open_campus_base_url=url))

    def test_never_in_production(self) -> None:
        assert not wants_sandbox(production(open_campus_base_url=DEV_OPEN_CAMPUS_BASE_URL))


async def own_service(request: web.Request) -> web.Response:
    return web.json_response({"mine": True})


class TestWhatMakeRunFindsThere:
    """The sandbox starts only where nothing answers: a sandbox already running, or a local
    service of the user's own (a mock, a proxy, a tunnel), is used as it is."""

    async def test_nothing_answers_so_the_sandbox_starts(self) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        found = await asyncio.to_thread(open_campus_at, settings(open_campus_base_url=url))
        assert found is OpenCampus.START_SANDBOX

    async def test_a_service_of_the_users_own_is_used(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", own_service)
        async for running_service in running(app):
            url = f"{running_service.url}/open-campus"
            found = await asyncio.to_thread(open_campus_at, settings(open_campus_base_url=url))
            assert found is OpenCampus.OWN_SERVICE

    async def test_a_running_sandbox_is_used(self, sandbox: Sandbox) -> None:
        found = await asyncio.to_thread(open_campus_at, settings(open_campus_base_url=sandbox.url))
        assert found is OpenCampus.SANDBOX

    def test_a_remote_target_is_not_probed(self) -> None:
        remote = settings(open_campus_base_url="https://api.vc.staging.opencampus.xyz")
        assert open_campus_at(remote) is OpenCampus.ELSEWHERE

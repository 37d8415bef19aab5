"""Every authentication rejection of DESIGN.md, each with a test that fails without its check."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest

from services.gateway.auth import Authenticator, Credentials, Principal, clean_path
from shared.errors import NotAuthorized
from shared.tokens import authorization, mint

MASTER = "master-secret-for-the-unit-tests-" + "0123456789" * 4
CONSUMER_SECRET = "consumer-secret-for-the-unit-tests-0123456789"
NOW = 1_800_000_000.0
BODY = b'{"slug":"chicago"}'


async def lookup(key: str) -> Credentials | None:
    return Credentials(CONSUMER_SECRET, "chicago") if key == "consumer-key" else None


def authenticator(max_ttl_s: int = 3600) -> Authenticator:
    return Authenticator(
        master_secret=MASTER, lookup=lookup, max_ttl_s=max_ttl_s, clock=lambda: NOW
    )


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "key": "master",
        "method": "POST",
        "path": "/systems",
        "exp": int(NOW) + 60,
        "body": {"alg": "sha256", "hash": hashlib.sha256(BODY).hexdigest()},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, object], secret: str = MASTER, **headers: object) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


async def check(
    token: str | None,
    *,
    method: str = "POST",
    raw_path: str = "/systems",
    body: bytes = BODY,
    header: str | None = None,
    auth: Authenticator | None = None,
) -> Principal:
    value = header if header is not None else (authorization(token) if token else None)
    return await (auth or authenticator()).authenticate(
        method=method, raw_path=raw_path, authorization=value, body=body
    )


async def rejected(token: str | None, **kwargs: object) -> str:
    with pytest.raises(NotAuthorized) as caught:
        await check(token, **kwargs)  # type: ignore[arg-type]
    return caught.value.message


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class TestAccepted:
    async def test_master_token(self) -> None:
        principal = await check(sign(claims()))
        assert principal == Principal(key="master", system=None)
        assert principal.is_master

    async def test_consumer_token(self) -> None:
        principal = await check(sign(claims(key="consumer-key"), CONSUMER_SECRET))
        assert principal == Principal(key="consumer-key", system="chicago")
        assert not principal.is_master

    async def test_bearer_scheme(self) -> None:
        token = sign(claims())
        assert (await check(None, header=f"Bearer {token}")).key == "master"

    async def test_exp_in_milliseconds(self) -> None:
        assert await check(sign(claims(exp=int(NOW * 1000) + 60_000)))

    async def test_uppercase_body_alg_of_the_old_node_client(self) -> None:
        token = sign(claims(body={"alg": "SHA256", "hash": hashlib.sha256(BODY).hexdigest()}))
        assert await check(token)

    async def test_get_without_body_claim(self) -> None:
        token = sign(claims(method="GET", path="/systems?page=1&count=2", body=None))
        assert await check(token, method="get", raw_path="/systems?page=1&count=2", body=b"")

    async def test_empty_body_hashes_the_empty_string(self) -> None:
        empty = {"alg": "sha256", "hash": hashlib.sha256(b"").hexdigest()}
        assert await check(sign(claims(body=empty)), body=b"")

    async def test_paths_are_compared_after_slash_cleanup(self) -> None:
        token = sign(claims(path="/systems//chicago/"))
        assert await check(token, raw_path="/systems/chicago", body=BODY)

    async def test_percent_encoding_is_kept(self) -> None:
        path = "/systems/s/badges/b/instances/a%40example.org"
        token = sign(claims(method="GET", path=path, body=None))
        assert await check(token, method="GET", raw_path=path, body=b"")

    async def test_shared_minting_helper(self) -> None:
        token = mint(MASTER, method="POST", path="/systems", body=BODY)
        assert await check(
            token, auth=Authenticator(master_secret=MASTER, lookup=lookup, max_ttl_s=3600)
        )


class TestRejected:
    async def test_missing_header(self) -> None:
        assert (await rejected(None)).startswith("Missing valid Authorization header")

    @pytest.mark.parametrize(
        "header", ["JWT abc", 'JWT token=""', "Basic dXNlcjpwYXNz", "Bearer", "token=abc"]
    )
    async def test_malformed_header(self, header: str) -> None:
        assert (await rejected(None, header=header)).startswith("Missing valid Authorization")

    @pytest.mark.parametrize(
        "token", ["not-a-jwt", "a.b.c", "....", b64({"alg": "HS256"}) + ".x.y"]
    )
    async def test_malformed_token(self, token: str) -> None:
        assert await rejected(token) == "Could not decode JWT"

    async def test_alg_none(self) -> None:
        token = f"{b64({'typ': 'JWT', 'alg': 'none'})}.{b64(claims())}."
        assert await rejected(token) == "Unsupported JWT algorithm: only HS256 is accepted"

    @pytest.mark.parametrize("alg", ["HS384", "HS512"])
    async def test_other_algorithms(self, alg: str) -> None:
        token = jwt.encode(claims(), MASTER, algorithm=alg)
        assert await rejected(token) == "Unsupported JWT algorithm: only HS256 is accepted"

    async def test_alg_header_lies_about_signature(self) -> None:
        # An HS512 signature relabelled HS256 must not verify.
        real = jwt.encode(claims(), MASTER, algorithm="HS512")
        _, payload, signature = real.split(".")
        token = f"{b64({'typ': 'JWT', 'alg': 'HS256'})}.{payload}.{signature}"
        assert await rejected(token) == "Invalid token signature"

    async def test_bad_signature(self) -> None:
        assert await rejected(sign(claims(), "another-secret-of-sufficient-length-0123")) == (
            "Invalid token signature"
        )

    async def test_tampered_claims(self) -> None:
        header, _, signature = sign(claims()).split(".")
        token = f"{header}.{b64(claims(path='/systems/other'))}.{signature}"
        assert await rejected(token, raw_path="/systems/other") == "Invalid token signature"

    async def test_missing_key(self) -> None:
        assert await rejected(sign(claims(key=None))) == "Missing JWT claim: key"

    async def test_unknown_consumer_key(self) -> None:
        assert await rejected(sign(claims(key="nobody"), CONSUMER_SECRET)) == "Unknown API key"

    async def test_consumer_token_signed_with_master_secret(self) -> None:
        token = sign(claims(key="consumer-key"), MASTER)
        assert await rejected(token) == "Invalid token signature"

    async def test_method_mismatch(self) -> None:
        message = await rejected(sign(claims(method="GET")))
        assert message == "`method` does not match the request's method"

    async def test_missing_method(self) -> None:
        assert await rejected(sign(claims(method=None))) == "Missing JWT claim: method"

    async def test_path_mismatch(self) -> None:
        message = await rejected(sign(claims(path="/systems/other")))
        assert message == "`path` does not match the request's path"

    async def test_query_string_is_part_of_the_path(self) -> None:
        token = sign(claims(method="GET", path="/systems?page=1", body=None))
        message = await rejected(token, method="GET", raw_path="/systems?page=2", body=b"")
        assert message == "`path` does not match the request's path"

    async def test_missing_path(self) -> None:
        assert await rejected(sign(claims(path=None))) == "Missing JWT claim: path"

    async def test_body_hash_mismatch(self) -> None:
        message = await rejected(sign(claims()), body=b'{"slug":"pittsburgh"}')
        assert message == "Computed body hash does not match the token's body.hash"

    async def test_body_without_body_claim(self) -> None:
        assert await rejected(sign(claims(body=None))) == "Missing JWT claim: body"

    async def test_body_claim_without_hash(self) -> None:
        assert (
            await rejected(sign(claims(body={"alg": "sha256"}))) == "Missing JWT claim: body.hash"
        )

    async def test_body_hash_with_another_algorithm(self) -> None:
        md5 = {"alg": "md5", "hash": hashlib.md5(BODY).hexdigest()}
        assert (
            await rejected(sign(claims(body=md5))) == "Unsupported body hash algorithm: use sha256"
        )

    async def test_missing_exp(self) -> None:
        assert await rejected(sign(claims(exp=None))) == "Missing JWT claim: exp"

    async def test_non_numeric_exp(self) -> None:
        assert (
            await rejected(sign(claims(exp="tomorrow")))
            == "Invalid JWT claim: exp must be a number"
        )

    async def test_expired_in_seconds(self) -> None:
        assert await rejected(sign(claims(exp=int(NOW) - 1))) == "Token is expired"

    async def test_expired_in_milliseconds(self) -> None:
        assert await rejected(sign(claims(exp=int(NOW * 1000) - 1000))) == "Token is expired"

    async def test_expiry_too_far_ahead(self) -> None:
        message = await rejected(sign(claims(exp=int(NOW) + 3601)))
        assert message == "Token expiry is too far ahead: at most 3600 seconds are accepted"

    async def test_expiry_too_far_ahead_in_milliseconds(self) -> None:
        message = await rejected(sign(claims(exp=int(NOW * 1000) + 3_601_000)))
        assert message.startswith("Token expiry is too far ahead")

    async def test_messages_never_echo_the_token_or_secret(self) -> None:
        token = sign(claims(path="/elsewhere"))
        message = await rejected(token)
        assert token not in message
        assert MASTER not in message
        assert "/elsewhere" not in message


class TestVerifiedTokenCache:
    async def test_a_cached_token_is_refused_once_its_key_is_gone(self) -> None:
        known = {"consumer-key": Credentials(CONSUMER_SECRET, "chicago")}

        async def changing(key: str) -> Credentials | None:
            return known.get(key)

        auth = Authenticator(
            master_secret=MASTER, lookup=changing, max_ttl_s=3600, clock=lambda: NOW
        )
        token = sign(claims(key="consumer-key"), CONSUMER_SECRET)
        assert await check(token, auth=auth)
        del known["consumer-key"]
        assert await rejected(token, auth=auth) == "Unknown API key"

    async def test_a_cached_token_still_checks_expiry_and_request(self) -> None:
        now = [NOW]
        auth = Authenticator(
            master_secret=MASTER, lookup=lookup, max_ttl_s=3600, clock=lambda: now[0]
        )
        token = sign(claims())
        assert await check(token, auth=auth)
        assert await rejected(token, auth=auth, raw_path="/systems/x") == (
            "`path` does not match the request's path"
        )
        now[0] += 120
        assert await rejected(token, auth=auth) == "Token is expired"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("/", "/"),
        ("/systems/", "/systems"),
        ("//systems///chicago//", "/systems/chicago"),
        ("/systems/?page=1", "/systems?page=1"),
        ("/a%2Fb?x=//y", "/a%2Fb?x=//y"),
    ],
)
def test_clean_path(raw: str, cleaned: str) -> None:
    assert clean_path(raw) == cleaned

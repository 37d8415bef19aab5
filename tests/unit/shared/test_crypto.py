from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from shared.crypto import new_secret


def test_a_secret_is_url_safe_and_as_long_as_asked() -> None:
    secret = new_secret(32)
    assert len(secret) == 43  # 32 bytes in unpadded base64
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_secret_never_begins_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: Iterator[str] = iter(["-first", "--second", "third-"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert new_secret() == "third-"

"""VC-JWT, OB 3.0.3's JSON Web Token proof format: a compact JWS signed `RS256` (the algorithm
every OB 3.0 verifier must accept), whose JOSE header holds `alg`, `kid` (the verification
method id, `<did>#<key id>`) and `typ`, and nothing else (OB 3.0 allows no other header).

The payload is the credential itself (VC Data Model 2.0, as OB 3.0.3 and openbadgeslib write
it; VC DM 1.1 wrapped it in a `vc` claim, which `verify` still reads) plus the registered claims
`iss` = issuer id, `jti` = credential id, `nbf` = validFrom, `exp` = validUntil when there is one,
and `sub` = the subject's id when it has one (ours name their earner by a hashed email, not an id).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

ALGORITHM = "RS256"
REGISTERED_CLAIMS = ("iss", "jti", "nbf", "exp", "sub")
# Dates are checked by the verifier's validity check, apart from the signature, so that a
# credential past its validUntil still reports a good proof.
_DECODE_OPTIONS: Any = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "require": ["iss", "jti", "nbf"],
}


class InvalidToken(Exception):
    """A VC-JWT that does not verify, or whose claims contradict its credential."""


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, Mapping) else value


def numeric_date(xml_datetime: str) -> int:
    moment = datetime.fromisoformat(xml_datetime)
    if moment.tzinfo is None:
        raise ValueError(f"{xml_datetime!r} has no time zone")
    return int(moment.timestamp())


def claims_of(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The registered claims a credential implies, from its own fields."""
    claims = {
        "iss": _id(credential.get("issuer")),
        "jti": credential.get("id"),
        "nbf": numeric_date(credential["validFrom"]),
    }
    if "validUntil" in credential:
        claims["exp"] = numeric_date(credential["validUntil"])
    subject = _id(credential.get("credentialSubject"))
    if isinstance(subject, str):
        claims["sub"] = subject
    return claims


def encode(credential: Mapping[str, Any], key: RSAPrivateKey, kid: str) -> str:
    """The VC-JWT of `credential` (with its Data Integrity proof, if it has one: OB 3.0 wants
    that proof made first), signed by `key` whose verification method id is `kid`."""
    clashing = [name for name in REGISTERED_CLAIMS if name in credential]
    if clashing:
        raise ValueError(f"a credential cannot carry the JWT claims {clashing} itself")
    payload = {**credential, **claims_of(credential)}
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})


def key_id(token: str) -> str:
    """The `kid` of a VC-JWT, unverified: which key to resolve before `verify`."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise InvalidToken(f"not a JWT: {error}") from None
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the JOSE header names no key (kid)")
    return kid


def verify(token: str, key: RSAPublicKey) -> dict[str, Any]:
    """The credential of a VC-JWT signed by `key`, once its claims agree with it; `InvalidToken`
    otherwise. Whether the credential is valid now is not judged here."""
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], options=_DECODE_OPTIONS)
    except jwt.InvalidTokenError as error:
        raise InvalidToken(str(error)) from None
    if isinstance(payload.get("vc"), Mapping):
        credential = dict(payload["vc"])
        # VC DM 1.1 names the dates differently.
        dates = {"validFrom": "issuanceDate", "validUntil": "expirationDate"}
        implied = {
            new: credential[old]
            for new, old in dates.items()
            if old in credential and new not in credential
        }
    else:
        credential = {
            name: value for name, value in payload.items() if name not in REGISTERED_CLAIMS
        }
        implied = {}
    try:
        expected = claims_of({**credential, **implied})
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidToken(f"the credential has no usable validFrom: {error!r}") from None
    for name in REGISTERED_CLAIMS:
        if payload.get(name) != expected.get(name):
            raise InvalidToken(f"claim {name!r} does not match the credential")
    return credential

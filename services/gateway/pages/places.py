"""Where a public document's URL points: the scope and badge its path names, read back from
the absolute URLs the Open Badges 2.0 documents hold."""

from __future__ import annotations

import re

from shared.messages.common import Scope

_SEGMENT = r"[^/?#]+"
_PLACE = re.compile(
    rf"^/public/systems/(?P<system>{_SEGMENT})"
    rf"(?:/issuers/(?P<issuer>{_SEGMENT})(?:/programs/(?P<program>{_SEGMENT}))?)?"
    rf"(?:/badges/(?P<badge>{_SEGMENT}))?$"
)


def place_of(base_url: str, url: str) -> tuple[Scope, str | None] | None:
    """The scope (and badge slug, if any) an issuer or badge class URL under `base_url` names;
    None for any other URL."""
    if not url.startswith(base_url + "/"):
        return None
    found = _PLACE.match(url.removeprefix(base_url))
    if found is None:
        return None
    scope = Scope(system=found["system"], issuer=found["issuer"], program=found["program"])
    return scope, found["badge"]

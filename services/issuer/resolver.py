"""Where the verifier reads documents from: the issuer's own, then the network.

DESIGN.md (Public pages): URLs under PUBLIC_URL are answered internally, without an outbound
request. `LocalDocuments` is that seam: it will answer this issuer's DID documents, credentials
and status lists from its own tables (and OB 2.0 assertions, which the badges service owns).
Until it does it answers nothing, and such URLs are fetched like any other, through the guard.
"""

from __future__ import annotations

from services.issuer.deps import Ctx
from services.issuer.fetcher import Fetched, Fetcher
from services.issuer.ob3.resolving import JSON_ACCEPT


class LocalDocuments:
    """This issuer's own public documents, read from its schema on the request's connection."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx

    async def fetch(self, url: str, *, accept: str) -> Fetched | None:
        """The document at `url` (under PUBLIC_URL) as the gateway would serve it, or None when
        it is not one of ours. Nothing is local yet: signing keys, credentials and status lists
        are being built (issue 10); this is where they are answered from."""
        return None


class IssuerResolver:
    """The verifier's `Resolver`: the issuer's own documents first, the guarded network else."""

    def __init__(self, public_url: str, local: LocalDocuments, outbound: Fetcher) -> None:
        self._prefix = public_url.rstrip("/") + "/"
        self._local = local
        self._outbound = outbound

    async def fetch(self, url: str, *, accept: str = JSON_ACCEPT) -> Fetched:
        if url.startswith(self._prefix):
            found = await self._local.fetch(url, accept=accept)
            if found is not None:
                return found
        return await self._outbound.fetch(url, accept=accept)

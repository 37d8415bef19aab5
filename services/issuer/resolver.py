"""Where the verifier reads documents from: the issuer's own, then the network.

DESIGN.md (Public pages): URLs under PUBLIC_URL are answered internally, without an outbound
request. `LocalDocuments` answers this issuer's own documents (DID documents, signed credentials
in both forms, status lists) from its tables, exactly as the gateway serves them. Anything else
under PUBLIC_URL (the OB 2.0 documents the badges service owns) is still fetched through the
guard.
"""

from __future__ import annotations

import re

import orjson
from yarl import URL

from services.issuer.deps import Ctx
from services.issuer.fetcher import Fetched, Fetcher
from services.issuer.keyring import did_document
from services.issuer.ob3.resolving import JSON_ACCEPT
from services.issuer.repository import Repository
from shared.http import preferred
from shared.public_urls import DID_JSON, JSON_LD, VC_JWT

_SEGMENT = r"[^/?#]+"
_DID_DOCUMENT = re.compile(rf"^public/systems/(?P<system>{_SEGMENT})/did\.json$")
_STATUS_LIST = re.compile(rf"^public/systems/(?P<system>{_SEGMENT})/status/(?P<list>{_SEGMENT})$")
_CREDENTIAL = re.compile(rf"^public/credentials/(?P<slug>{_SEGMENT}?)(?P<jwt>\.jwt)?$")


class LocalDocuments:
    """This issuer's own public documents, read from its schema on a connection borrowed from
    the pool for each read."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx

    async def fetch(self, path: str, *, accept: str) -> Fetched | None:
        """The document at `path` (under PUBLIC_URL, without it) as the gateway serves it, a
        404 where it names one of ours that does not exist, or None when it is not ours."""
        assert self._ctx.pool is not None  # the verifier borrows its connections
        async with self._ctx.pool.acquire() as conn:
            return await self._read(self._ctx.deps.repository(conn), path, accept)

    async def _read(self, repo: Repository, path: str, accept: str) -> Fetched | None:
        if found := _DID_DOCUMENT.match(path):
            system = found["system"]
            published = await repo.signing_keys.published(system)
            if not published:
                return _NOT_FOUND
            document = did_document(self._ctx.deps.keyring.did(system), published)
            return Fetched(200, DID_JSON, orjson.dumps(document))
        if found := _STATUS_LIST.match(path):
            status_list = await repo.open_badges.status_list_by_slug(found["system"], found["list"])
            if status_list is None:
                return _NOT_FOUND
            return Fetched(200, JSON_LD, status_list["document"].encode())
        if found := _CREDENTIAL.match(path):
            credential = await repo.open_badges.by_slug(found["slug"])
            if credential is None:
                return _NOT_FOUND
            if found["jwt"] or preferred(accept, (JSON_LD, VC_JWT)) == VC_JWT:
                return Fetched(200, VC_JWT, credential["jwt"].encode())
            return Fetched(200, JSON_LD, credential["document"].encode())
        return None


_NOT_FOUND = Fetched(404, "application/json", b'{"code": "ResourceNotFound"}')


class IssuerResolver:
    """The verifier's `Resolver`: the issuer's own documents first, the guarded network else."""

    def __init__(self, public_url: str, local: LocalDocuments, outbound: Fetcher) -> None:
        public = URL(public_url)
        self._authority = (public.host, public.port)
        self._prefix = public.path.rstrip("/") + "/"
        self._local = local
        self._outbound = outbound

    def _own_path(self, url: str) -> str | None:
        """The path of `url` under PUBLIC_URL, or None. The scheme does not count: a did:web is
        always resolved over https, and PUBLIC_URL may be http behind a proxy or in development."""
        try:
            parsed = URL(url)
        except ValueError:
            return None
        if (parsed.host, parsed.port) != self._authority or not parsed.path.startswith(
            self._prefix
        ):
            return None
        return parsed.path.removeprefix(self._prefix)

    async def fetch(self, url: str, *, accept: str = JSON_ACCEPT) -> Fetched:
        path = self._own_path(url)
        if path is not None:
            found = await self._local.fetch(path, accept=accept)
            if found is not None:
                return found
        return await self._outbound.fetch(url, accept=accept)

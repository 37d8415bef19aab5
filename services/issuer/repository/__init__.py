"""All SQL of the issuer schema, one module per family of tables (Open Campus credentials,
signing keys, Open Badges 3.0 credentials and their status lists), each with its class of
statements; `Repository` gathers them on one connection (`repo.credentials.insert(...)`), built
by whoever holds one (a handler through `Deps.repository`, a worker on its pool)."""

from __future__ import annotations

from services.issuer.repository.credentials import Credentials
from services.issuer.repository.open_badges import OpenBadges
from services.issuer.repository.signing_keys import SigningKeys
from shared import inbox
from shared.db import Connection
from shared.envelope import Envelope


class Repository:
    """The issuer schema's statements on one connection (in the caller's transaction, if it
    opened one)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def credentials(self) -> Credentials:
        return Credentials(self._conn)

    @property
    def signing_keys(self) -> SigningKeys:
        return SigningKeys(self._conn)

    @property
    def open_badges(self) -> OpenBadges:
        return OpenBadges(self._conn)

    async def purge_system(self, system_id: int, keep: Envelope) -> None:
        """Everything of a deleted system, its inbox rows included but `keep`'s (the
        deletion's own: it is what makes a redelivery of the deletion a no-op)."""
        await self.credentials.purge_system(system_id)
        await self.open_badges.purge_system(system_id)
        await self.signing_keys.purge_system(system_id)
        await inbox.forget_system(self._conn, system_id, keep)

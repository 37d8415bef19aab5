"""All SQL of the issuer schema, one module per family of tables, each with its class of
statements; `Repository` gathers them on one connection (`repo.credentials.insert(...)`), built
by whoever holds one (a handler through `Deps.repository`, a worker on its pool)."""

from __future__ import annotations

from services.issuer.repository.credentials import Credentials
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

    async def purge_system(self, system_id: int, keep: Envelope) -> None:
        """Everything of a deleted system, its inbox rows included but `keep`'s (the
        deletion's own: it is what makes a redelivery of the deletion a no-op)."""
        await self.credentials.purge_system(system_id)
        await inbox.forget_system(self._conn, system_id, keep)

"""All SQL of the badges schema, one module per resource family, each with its class of
statements; `Repository` gathers them on one connection (`repo.instances.insert(...)`).

Statements that a commit mode runs itself stay module constants (`instances.INSERT`, with
`instances.insert_args`), since `BatchContext.commit_at_once` takes the SQL."""

from __future__ import annotations

from asyncpg.transaction import Transaction

from services.badges.repository.applications import Applications
from services.badges.repository.badges import Badges
from services.badges.repository.claim_codes import ClaimCodes
from services.badges.repository.consumers import Consumers
from services.badges.repository.images import Images
from services.badges.repository.imports import Imports
from services.badges.repository.instances import Instances
from services.badges.repository.milestones import Milestones
from services.badges.repository.organizations import Organizations
from services.badges.repository.reviews import Reviews
from services.badges.repository.scopes import Scopes
from shared.db import Connection


class Repository:
    """The badges schema's statements on one connection (the message's, in its transaction if
    one is open). Each family is built when it is asked for: a handler uses two or three of
    them, so building all ten for every message would be wasted."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def savepoint(self) -> Transaction:
        """A transaction nested in the caller's: what fails inside it is undone alone, and the
        caller's transaction stays usable."""
        return self._conn.transaction()

    @property
    def applications(self) -> Applications:
        return Applications(self._conn)

    @property
    def badges(self) -> Badges:
        return Badges(self._conn)

    @property
    def claim_codes(self) -> ClaimCodes:
        return ClaimCodes(self._conn)

    @property
    def consumers(self) -> Consumers:
        return Consumers(self._conn)

    @property
    def images(self) -> Images:
        return Images(self._conn)

    @property
    def imports(self) -> Imports:
        return Imports(self._conn)

    @property
    def instances(self) -> Instances:
        return Instances(self._conn)

    @property
    def milestones(self) -> Milestones:
        return Milestones(self._conn)

    @property
    def organizations(self) -> Organizations:
        return Organizations(self._conn)

    @property
    def reviews(self) -> Reviews:
        return Reviews(self._conn)

    @property
    def scopes(self) -> Scopes:
        return Scopes(self._conn)

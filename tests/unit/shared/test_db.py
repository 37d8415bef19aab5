"""What counts as Postgres unavailable (shared/db.py): a dropped connection, a server shutting
down or starting, too many connections, a full disk; and work run again on a new connection
when it is: never when the work itself failed."""

from __future__ import annotations

import asyncpg
import pytest

from shared import db


def closed_while_handling(cause: BaseException) -> asyncpg.InterfaceError:
    """asyncpg's refusal to roll back on a dropped connection, raised while `cause` was handled."""
    try:
        raise cause
    except BaseException:
        try:
            raise asyncpg.InterfaceError("cannot call Transaction.rollback(): connection is closed")
        except asyncpg.InterfaceError as refusal:
            return refusal
    raise AssertionError("unreachable")


DROPPED = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")


@pytest.mark.parametrize(
    "error",
    [
        DROPPED,
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
        ConnectionRefusedError(111, "Connection refused"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
        closed_while_handling(DROPPED),
    ],
)
def test_postgres_going_away_or_full_is_unavailable(error: BaseException) -> None:
    assert db.unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.ConfigurationLimitExceededError("too many locks for one transaction"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        closed_while_handling(ValueError("the handler's own")),
        RuntimeError("a bug"),
    ],
)
def test_the_work_failing_is_not(error: BaseException) -> None:
    assert not db.unavailable(error)


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "RECONNECT_DELAYS_S", (0.0, 0.0, 0.0))


class Work:
    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.runs = 0
        self.agains = 0

    async def run(self) -> str:
        self.runs += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"

    def again(self) -> None:
        self.agains += 1


async def test_work_runs_again_after_a_drop_marked_as_a_redelivery() -> None:
    work = Work(DROPPED, DROPPED)
    assert await db.reconnecting(work.run, again=work.again) == "done"
    assert (work.runs, work.agains) == (3, 2)


async def test_work_that_fails_by_itself_is_not_run_again() -> None:
    work = Work(asyncpg.UniqueViolationError("duplicate key"))
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.reconnecting(work.run, again=work.again)
    assert (work.runs, work.agains) == (1, 0)


async def test_a_database_that_stays_away_ends_the_retries() -> None:
    work = Work(*[DROPPED] * 10)
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await db.reconnecting(work.run, again=work.again)
    assert work.runs == len(db.RECONNECT_DELAYS_S) + 1

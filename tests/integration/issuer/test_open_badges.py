"""Open Badges 3.0 in the issuer on real Postgres, through the event dispatcher with the real
Deps, as the service runs it: each award signed once (a redelivery never signs again), status
indexes never shared, lists that roll over, revocations in either order, rotation; and in
batches, as the awards that arrive together are signed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.issuer import handlers
from services.issuer.deps import Deps, make_deps
from services.issuer.ob3 import data_integrity, did, keys, status_list
from services.issuer.repository.open_badges import OpenBadges
from shared.config import Settings
from shared.envelope import Envelope
from shared.event_dispatch import EventDispatcher
from shared.messages.events import SystemDeleted
from shared.messages.instances import BadgeAwarded, BadgeRevoked
from shared.messages.open_badges import SignOpenBadgeCredential

pytestmark = pytest.mark.integration

SYSTEM_ID = 7
SYSTEM = "chicago"


@pytest.fixture
def deps(settings: Settings, issuer_pool: asyncpg.Pool) -> Deps:
    return make_deps(settings, issuer_pool)


@pytest.fixture
def events(deps: Deps, issuer_pool: asyncpg.Pool) -> EventDispatcher[Deps]:
    return EventDispatcher(issuer_pool, deps, handlers.EVENT_HANDLERS)


def badge() -> dict[str, Any]:
    return {
        "slug": "reader",
        "name": "Reader",
        "consumerDescription": "Read twelve books",
        "imageUrl": "https://badges.example.org/public/images/1",
        "criteriaUrl": "https://library.example.org/reading",
        "system": {"slug": SYSTEM, "name": "Chicago Library", "url": "https://library.example.org"},
    }


def awarded(slug: str | None = None, **more: Any) -> Envelope:
    slug = slug or uuid.uuid4().hex
    event = BadgeAwarded(
        system=SYSTEM,
        uid=slug,
        badge=badge(),
        email="ada@example.org",
        assertion_url=f"https://badges.example.org/public/assertions/{slug}",
        open_badge_credential_url=f"https://badges.example.org/public/credentials/{slug}",
        issued_on=1714564800,
        salt="5a17",
        **more,
    )
    return Envelope.wrap(event, correlation_id="c", system_id=SYSTEM_ID)


def revoked(slug: str) -> Envelope:
    event = BadgeRevoked(system=SYSTEM, uid=slug, badge=badge(), email="ada@example.org")
    return Envelope.wrap(event, correlation_id="c", system_id=SYSTEM_ID)


async def stored(pool: asyncpg.Pool, slug: str) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM open_badges WHERE slug = $1", slug)
    assert row is not None
    return dict(row)


async def bit(pool: asyncpg.Pool, slug: str) -> bool:
    row = await stored(pool, slug)
    bits = await pool.fetchval(
        "SELECT revoked FROM status_lists WHERE id = $1", row["status_list_id"]
    )
    served = orjson.loads(
        await pool.fetchval(
            "SELECT document FROM status_lists WHERE id = $1", row["status_list_id"]
        )
    )
    encoded = status_list.StatusList.decode(served["credentialSubject"]["encodedList"])
    # What is served says what is stored.
    assert encoded.to_bytes() == bits
    return encoded.get(row["status_index"])


async def public_key(pool: asyncpg.Pool, method: str) -> Ed25519PublicKey:
    key_id = method.partition("#")[2]
    jwk = await pool.fetchval("SELECT public_key FROM signing_keys WHERE id = $1", key_id)
    public = keys.public_key_from_jwk(jwk)
    assert isinstance(public, Ed25519PublicKey)
    return public


def lose_the_first_draw(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    """The next draw finds `index` (one a credential holds) free, as a racing draw would have
    seen it before that credential's insert; later draws are checked for real."""
    real_free = OpenBadges.free_indexes
    offered = iter([[index]])

    async def free_indexes(self: OpenBadges, list_id: str, drawn: list[int]) -> list[int]:
        return next(offered, None) or await real_free(self, list_id, drawn)

    monkeypatch.setattr(OpenBadges, "free_indexes", free_indexes)


class TestSigning:
    async def test_an_award_is_signed_once_in_both_forms_whatever_the_redeliveries(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps], settings: Settings
    ) -> None:
        envelope = awarded()
        assert await events.handle(envelope)
        assert not await events.handle(envelope)

        row = await stored(issuer_pool, envelope.data["uid"])
        assert await issuer_pool.fetchval("SELECT count(*) FROM open_badges") == 1
        document = orjson.loads(row["document"])
        method = document["proof"][0]["verificationMethod"]
        assert method.startswith(did.did_web(settings.base_url, SYSTEM) + "#")
        unsigned = {**document, "proof": document["proof"][0]}
        data_integrity.verify_proof(unsigned, await public_key(issuer_pool, method))
        assert row["jwt"].count(".") == 2
        assert document["credentialStatus"]["statusListIndex"] == str(row["status_index"])

    async def test_the_awards_narrative_is_its_subjects_under_the_proof(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        told = 'Built "Ada", a robot; <b>café</b>\n- and wrote it up'
        envelope = awarded(narrative=told, evidence="https://e.example.org/robot")
        await events.handle(envelope)

        document = orjson.loads((await stored(issuer_pool, envelope.data["uid"]))["document"])
        assert document["credentialSubject"]["narrative"] == told
        assert document["evidence"] == [{"id": "https://e.example.org/robot", "type": ["Evidence"]}]
        key = await public_key(issuer_pool, document["proof"][0]["verificationMethod"])
        unsigned = {**document, "proof": document["proof"][0]}
        data_integrity.verify_proof(unsigned, key)
        changed = {**document["credentialSubject"], "narrative": "Did nothing"}
        with pytest.raises(data_integrity.InvalidProof):
            data_integrity.verify_proof({**unsigned, "credentialSubject": changed}, key)

    async def test_the_private_keys_are_sealed_at_rest(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await events.handle(awarded())
        rows = await issuer_pool.fetch("SELECT type, sealed, public_key FROM signing_keys")
        assert sorted(row["type"] for row in rows) == ["Ed25519", "RSA"]
        for row in rows:
            assert "PRIVATE KEY" not in row["sealed"]
            assert "d" not in row["public_key"]

    async def test_indexes_are_random_and_never_shared(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        for _ in range(40):
            await events.handle(awarded())
        rows = await issuer_pool.fetch("SELECT status_list_id, status_index FROM open_badges")
        indexes = [row["status_index"] for row in rows]
        assert len(set(indexes)) == 40
        assert len({row["status_list_id"] for row in rows}) == 1
        # Drawn at random over the whole list, not counted up from 0.
        assert max(indexes) > 40
        used = await issuer_pool.fetchval("SELECT used FROM status_lists")
        assert used == 40

    async def test_a_list_given_out_to_capacity_is_followed_by_a_new_one(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await events.handle(awarded())
        await issuer_pool.execute("UPDATE status_lists SET capacity = used")
        second = awarded()
        await events.handle(second)
        assert await issuer_pool.fetchval("SELECT count(*) FROM status_lists") == 2
        lists = await issuer_pool.fetch("SELECT DISTINCT status_list_id FROM open_badges")
        assert len(lists) == 2

    async def test_a_slot_lost_after_the_draw_is_drawn_again(
        self,
        issuer_pool: asyncpg.Pool,
        events: EventDispatcher[Deps],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Draws and signing take no lock: an index taken, or a list filled, by another
        credential in the meantime is found by the insert, and the award draws again."""
        first = awarded()
        await events.handle(first)
        taken = await stored(issuer_pool, first.data["uid"])
        lose_the_first_draw(monkeypatch, taken["status_index"])
        second = awarded()
        assert await events.handle(second)
        row = await stored(issuer_pool, second.data["uid"])
        assert row["status_index"] != taken["status_index"]
        document = orjson.loads(row["document"])
        assert document["credentialStatus"]["statusListIndex"] == str(row["status_index"])
        # A list counts its credentials, not the draws that lost.
        assert await issuer_pool.fetchval("SELECT used FROM status_lists") == 2

    async def test_concurrent_awards_share_no_index_and_count_each_once(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await events.handle(awarded())  # the keys and the list exist
        await asyncio.gather(*(events.handle(awarded()) for _ in range(24)))
        rows = await issuer_pool.fetch("SELECT status_list_id, status_index FROM open_badges")
        assert len({(row["status_list_id"], row["status_index"]) for row in rows}) == 25
        assert await issuer_pool.fetchval("SELECT sum(used) FROM status_lists") == 25


class TestSigningInBatches:
    async def test_a_batch_draws_distinct_indexes_and_counts_each_credential_once(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        batch = [awarded() for _ in range(40)]
        assert await events.handle_batch(batch) == [True] * 40
        rows = await issuer_pool.fetch("SELECT slug, status_list_id, status_index FROM open_badges")
        assert {row["slug"] for row in rows} == {envelope.data["uid"] for envelope in batch}
        assert len({row["status_index"] for row in rows}) == 40
        assert len({row["status_list_id"] for row in rows}) == 1
        assert await issuer_pool.fetchval("SELECT used FROM status_lists") == 40
        for envelope in batch[:3]:
            row = await stored(issuer_pool, envelope.data["uid"])
            document = orjson.loads(row["document"])
            assert document["credentialStatus"]["statusListIndex"] == str(row["status_index"])

    async def test_a_redelivery_in_a_batch_is_signed_once(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        before, fresh = awarded(), awarded()
        await events.handle(before)
        assert await events.handle_batch([before, fresh, fresh]) == [False, True, False]
        assert await issuer_pool.fetchval("SELECT count(*) FROM open_badges") == 2
        assert await issuer_pool.fetchval("SELECT used FROM status_lists") == 2

    async def test_slots_lost_after_the_draw_are_drawn_and_signed_again(
        self,
        issuer_pool: asyncpg.Pool,
        events: EventDispatcher[Deps],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first = awarded()
        await events.handle(first)
        taken = await stored(issuer_pool, first.data["uid"])
        lose_the_first_draw(monkeypatch, taken["status_index"])
        batch = [awarded() for _ in range(3)]
        assert await events.handle_batch(batch) == [True] * 3
        rows = await issuer_pool.fetch("SELECT slug, status_index, document FROM open_badges")
        assert len({row["status_index"] for row in rows}) == 4
        for row in rows:
            document = orjson.loads(row["document"])
            assert document["credentialStatus"]["statusListIndex"] == str(row["status_index"])
        # A list counts its credentials, not the draws that lost.
        assert await issuer_pool.fetchval("SELECT used FROM status_lists") == 4

    async def test_a_full_list_sends_the_batch_to_a_new_one(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await events.handle(awarded())
        await issuer_pool.execute("UPDATE status_lists SET capacity = used")
        await events.handle_batch([awarded() for _ in range(5)])
        counts = await issuer_pool.fetch(
            "SELECT l.used, count(b.slug) AS held FROM status_lists l"
            " LEFT JOIN open_badges b ON b.status_list_id = l.id GROUP BY l.id ORDER BY l.used"
        )
        assert [(row["used"], row["held"]) for row in counts] == [(1, 1), (5, 5)]

    async def test_concurrent_batches_share_no_index_and_count_each_once(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await events.handle(awarded())
        await asyncio.gather(
            *(events.handle_batch([awarded() for _ in range(8)]) for _ in range(4))
        )
        rows = await issuer_pool.fetch("SELECT status_list_id, status_index FROM open_badges")
        assert len({(row["status_list_id"], row["status_index"]) for row in rows}) == 33
        assert await issuer_pool.fetchval("SELECT sum(used) FROM status_lists") == 33

    async def test_an_award_revoked_before_its_batch_is_signed_revoked(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        gone, kept = awarded(), awarded()
        await events.handle(revoked(gone.data["uid"]))
        await events.handle_batch([kept, gone])
        assert await bit(issuer_pool, gone.data["uid"])
        assert not await bit(issuer_pool, kept.data["uid"])
        assert await issuer_pool.fetchval("SELECT count(*) FROM early_revocations") == 0


def backfill(slug: str, *, revoked: bool = False) -> Envelope:
    """The badges service's command for an award made before credentials existed."""
    event = BadgeAwarded.from_data(awarded(slug).data)
    command = SignOpenBadgeCredential(awarded=event, revoked=revoked)
    return Envelope.wrap(command, correlation_id="backfill", system_id=SYSTEM_ID)


class TestBackfill:
    async def test_old_awards_are_signed_as_their_award_would_have_had_them(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        """A new one is signed, one signed already is skipped (its credential unchanged), one
        twice in the batch is signed once, and a revoked one is born revoked."""
        signed_before = awarded()
        await events.handle(signed_before)
        kept = await stored(issuer_pool, signed_before.data["uid"])
        old, gone = uuid.uuid4().hex, uuid.uuid4().hex
        batch = [
            backfill(old),
            backfill(signed_before.data["uid"]),
            backfill(old),
            backfill(gone, revoked=True),
        ]
        assert await events.handle_batch(batch) == [True] * 4
        assert await issuer_pool.fetchval("SELECT count(*) FROM open_badges") == 3
        assert await stored(issuer_pool, signed_before.data["uid"]) == kept
        assert await issuer_pool.fetchval("SELECT used FROM status_lists") == 3
        document = orjson.loads((await stored(issuer_pool, old))["document"])
        assert document["credentialSubject"]["identifier"][0]["salt"] == "5a17"
        assert not await bit(issuer_pool, old)
        assert await bit(issuer_pool, gone)
        assert await issuer_pool.fetchval("SELECT count(*) FROM early_revocations") == 0


class TestRevocation:
    async def test_a_revocation_sets_the_bit_and_signs_the_list_again(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        kept, gone = awarded(), awarded()
        await events.handle(kept)
        await events.handle(gone)
        before = await issuer_pool.fetchval("SELECT document FROM status_lists")

        await events.handle(revoked(gone.data["uid"]))

        assert await bit(issuer_pool, gone.data["uid"])
        assert not await bit(issuer_pool, kept.data["uid"])
        after = await issuer_pool.fetchval("SELECT document FROM status_lists")
        assert orjson.loads(after)["proof"] != orjson.loads(before)["proof"]
        # The credential stays, as it was signed.
        assert (await stored(issuer_pool, gone.data["uid"]))["revoked_at"] is not None

    async def test_an_award_revoked_before_it_was_signed_is_signed_revoked(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        envelope = awarded()
        await events.handle(revoked(envelope.data["uid"]))
        await events.handle(envelope)
        assert await bit(issuer_pool, envelope.data["uid"])
        assert await issuer_pool.fetchval("SELECT count(*) FROM early_revocations") == 0

    async def test_a_second_revocation_changes_nothing(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        envelope = awarded()
        await events.handle(envelope)
        await events.handle(revoked(envelope.data["uid"]))
        document = await issuer_pool.fetchval("SELECT document FROM status_lists")
        await events.handle(revoked(envelope.data["uid"]))
        assert await issuer_pool.fetchval("SELECT document FROM status_lists") == document
        assert await issuer_pool.fetchval("SELECT count(*) FROM early_revocations") == 0


class TestPurge:
    async def test_a_deleted_systems_keys_credentials_and_lists_go(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await events.handle(awarded())
        await events.handle(revoked("never-signed"))
        deletion = Envelope.wrap(
            SystemDeleted(system=SYSTEM), correlation_id="c", system_id=SYSTEM_ID
        )
        await events.handle(deletion)
        for table in ("signing_keys", "open_badges", "status_lists", "early_revocations"):
            assert await issuer_pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table

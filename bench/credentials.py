"""`--credential-lag`: how long after an award's `201` its signed Open Badges 3.0 credential is
there to be served, read from the database after the run rather than by asking for it.

Asking would distort the measure: the gateway waits up to 5 s for a credential not signed yet,
which hides the lag inside one request, and polling adds load to the system it measures. So the
load generator keeps the wall-clock time each measured award's `201` arrived (by request number),
and after the run this module reads, for every award of the run, when the issuer stored its
credential: `issuer.open_badges.created_at`, set by `clock_timestamp()` as the row is inserted
(the last statement before the commit that makes it servable; `now()` would be its
transaction's start, before the status list's lock and the signing). It waits for the
credentials still being signed up to a drain deadline; an award still without one then fails
the run. Both clocks are the machine's realtime clock (Postgres runs on the same machine).

The award's own row (`badges.instances.created_at`, its statement's start: the award commits in
one statement) gives a second measure, from the award's commit rather than from its answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.stats import format_ms, summary_ms

DEFAULT_DRAIN_S = 30.0
POLL_S = 0.5

# The award scenarios send request `index` of run `run_id` to this e-mail (bench.scenarios).
_EMAIL = re.compile(r"^(?P<run>.+)-(?P<index>\d+)@example\.org$")

_STORED = (
    "SELECT i.email, extract(epoch FROM i.created_at)::float8 AS awarded,"
    " extract(epoch FROM o.created_at)::float8 AS signed"
    " FROM badges.instances i LEFT JOIN issuer.open_badges o ON o.slug = i.slug"
    " WHERE i.email LIKE $1"
)
_SIGNED_COUNT = (
    "SELECT count(*) FROM badges.instances i JOIN issuer.open_badges o ON o.slug = i.slug"
    " WHERE i.email LIKE $1"
)


def award_index(email: str, run_id: str) -> int | None:
    """The request number an award scenario's e-mail carries; None for another run's."""
    matched = _EMAIL.match(email)
    if matched is None or matched["run"] != run_id:
        return None
    return int(matched["index"])


@dataclass(frozen=True)
class Stored:
    awarded: float  # unix seconds: the award's row
    signed: float | None  # unix seconds: its credential's row, None while not signed


async def read_stored(conn: Any, run_id: str) -> dict[int, Stored]:
    rows = await conn.fetch(_STORED, f"{run_id}-%@example.org")
    found: dict[int, Stored] = {}
    for row in rows:
        index = award_index(row["email"], run_id)
        if index is not None:
            found[index] = Stored(row["awarded"], row["signed"])
    return found


async def drain(conn: Any, run_id: str, expected: int, deadline_s: float) -> float:
    """Wait until the run's awards have at least `expected` credentials, or the deadline;
    the seconds waited."""
    started = time.monotonic()
    while True:
        signed = await conn.fetchval(_SIGNED_COUNT, f"{run_id}-%@example.org")
        waited = time.monotonic() - started
        if signed >= expected or waited >= deadline_s:
            return waited
        await asyncio.sleep(POLL_S)


def summarise(
    answered_at: Mapping[int, float], stored: Mapping[int, Stored], drained_s: float
) -> dict[str, Any]:
    """The lag of every award answered `201` in the measured window (request number -> unix
    seconds its answer arrived) to its credential, and those without one."""
    from_answer, from_award, missing = [], [], []
    for index, answered in answered_at.items():
        row = stored.get(index)
        if row is None or row.signed is None:
            missing.append(index)
            continue
        from_answer.append(row.signed - answered)
        from_award.append(row.signed - row.awarded)
    return {
        "awards": len(answered_at),
        "signed": len(from_answer),
        "missing": len(missing),
        "missing_sample": sorted(missing)[:10],
        "drained_s": round(drained_s, 3),
        # Signed before the 201 reached the load generator: the event and the reply leave the
        # award's commit together.
        "before_answer": sum(1 for lag in from_answer if lag < 0),
        "from_answer_ms": summary_ms(from_answer),
        "from_award_ms": summary_ms(from_award),
    }


async def measure(
    dsn: str, run_id: str, answered_at: Mapping[int, float], deadline_s: float
) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        # Every award of the run, the warm-up's too (signed first, in the same queue).
        total = await conn.fetchval(
            "SELECT count(*) FROM badges.instances WHERE email LIKE $1", f"{run_id}-%@example.org"
        )
        drained_s = await drain(conn, run_id, total, deadline_s)
        stored = await read_stored(conn, run_id)
    finally:
        await conn.close()
    return summarise(answered_at, stored, drained_s)


def render(lag: dict[str, Any]) -> list[str]:
    lines = [
        f"credentials  {lag['awards']:,} awards answered 201 in the window, {lag['signed']:,} "
        f"with a signed credential after {lag['drained_s']:.1f} s of drain, "
        f"{lag['missing']:,} without"
    ]
    for key, label in (("from_answer_ms", "from the 201"), ("from_award_ms", "from the award row")):
        summary = lag[key]
        if summary:
            lines.append(f"  {label:<19} {format_ms(summary)} ms")
    if lag["before_answer"]:
        lines.append(f"  ({lag['before_answer']:,} stored before their 201 arrived)")
    if lag.get("issuer_cpu_s") is not None:
        per = lag["issuer_cpu_s"] / max(lag["signed"], 1) * 1000
        lines.append(
            f"  issuer CPU from the window's start to the drain's end: "
            f"{lag['issuer_cpu_s']:.2f} s, {per:.2f} ms per award of the window"
        )
    if lag["missing"]:
        lines.append(
            f"FAILED: {lag['missing']:,} awards without a credential after "
            f"{lag['drained_s']:.1f} s (request numbers {lag['missing_sample']} ...)"
        )
    return lines

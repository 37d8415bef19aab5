"""The two ways to load the gateway, and a progress line on stderr every second while they run.

Closed loop: `connections` workers, each sending its next request as soon as the last one is
answered, for a duration or (`requests`) until that many were sent; latency runs from the
actual send. Open loop: requests are due at a fixed rate whether
or not earlier ones were answered, at most `connections` in flight, and latency runs from the
time a request was due, so a stall counts against every request it delays (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bench.cpu import CpuMeter
from bench.signing import Prepared, RequestSource
from bench.stats import Recorder, percentile

# An open loop still sending this long after its window closed gives up on the rest.
BEHIND_LIMIT_S = 10.0
RATE_LIMITED = "HTTP 429"
RATE_LIMIT_HINT = (
    "the gateway's per-key rate limit answered 429: it allows RATE_LIMIT_PER_S (default 200/s) "
    "with bursts of RATE_LIMIT_BURST (default 400) per key and gateway process; restart the "
    "gateway with e.g. RATE_LIMIT_PER_S=1000000 RATE_LIMIT_BURST=1000000, or use --spawn"
)


@dataclass(frozen=True)
class Plan:
    connections: int
    duration_s: float
    warmup_s: float
    rate: float | None = None  # requests per second: open loop; None: closed loop
    # Closed loop: stop after this many requests (warm-up included) instead of the duration.
    requests: int | None = None

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    @property
    def planned(self) -> int | None:
        """How many requests an open loop, or a closed loop of `requests`, sends; a closed loop
        for a duration sends as many as it can."""
        if self.rate is None:
            return self.requests
        return math.ceil(self.rate * (self.warmup_s + self.duration_s))

    @property
    def measure_s(self) -> float:
        """The measured window: the duration, unbounded for a closed loop of `requests`."""
        return math.inf if self.requests is not None else self.duration_s


@dataclass
class Outcome:
    measure_from: float  # perf_counter times of the measured window
    measure_until: float
    interrupted: bool = False
    unsent: int = 0  # open loop: measured requests given up on, too far behind schedule
    max_lag_s: float = 0.0  # open loop: the latest a request was sent after it was due


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


async def send(session: aiohttp.ClientSession, prepared: Prepared) -> tuple[str | None, bytes]:
    """None and no body for a 2xx; otherwise the kind of failure and what came back."""
    try:
        async with session.request(
            prepared.method, prepared.url, data=prepared.body, headers=prepared.headers
        ) as response:
            body = await response.read()
    except TimeoutError:
        return "timeout", b""
    except (aiohttp.ClientError, OSError) as error:
        return type(error).__name__, str(error).encode()
    if 200 <= response.status < 300:
        return None, b""
    return f"HTTP {response.status}", body


class Runner:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        source: RequestSource,
        plan: Plan,
        recorder: Recorder,
        cpu: CpuMeter,
        stop: asyncio.Event,
        on_answer: Callable[[int], None] | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.plan = plan
        self.recorder = recorder
        self.cpu = cpu
        self.stop = stop
        # Called after each answer with the run's count of answered requests (warm-up included).
        self.on_answer = on_answer
        self._next_due = math.inf  # open loop: when the next request is due to be sent

    async def run(self) -> Outcome:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        outcome = Outcome(
            measure_from=started + self.plan.warmup_s,
            measure_until=started + self.plan.warmup_s + self.plan.measure_s,
        )
        marks = [loop.call_later(self.plan.warmup_s, self.cpu.mark_start)]
        if self.plan.requests is None:
            marks.append(
                loop.call_later(self.plan.warmup_s + self.plan.duration_s, self.cpu.mark_end)
            )
        progress = asyncio.create_task(self._progress(started, outcome))
        try:
            if self.plan.open_loop:
                await self._open_loop(started, outcome)
            else:
                await self._closed_loop(outcome)
        finally:
            for mark in marks:
                mark.cancel()
            self.cpu.mark_end()
            progress.cancel()
        outcome.interrupted = self.stop.is_set()
        return outcome

    async def _closed_loop(self, outcome: Outcome) -> None:
        numbers = itertools.count()

        async def worker() -> None:
            while not self.stop.is_set():
                number = next(numbers)
                if self.plan.requests is not None and number >= self.plan.requests:
                    return
                prepared = self.source.get(number)
                sent_at = time.perf_counter()
                if sent_at >= outcome.measure_until:
                    return
                measured = sent_at >= outcome.measure_from
                self.recorder.sent(measured)
                failure, body = await send(self.session, prepared)
                done_at = time.perf_counter()
                self.recorder.done(
                    measured=measured,
                    latency_s=done_at - sent_at,
                    outcome=failure,
                    at=done_at,
                    body=body,
                    number=number,
                )
                self._answered()

        await asyncio.gather(*(worker() for _ in range(self.plan.connections)))

    async def _open_loop(self, started: float, outcome: Outcome) -> None:
        rate, planned = self.plan.rate, self.plan.planned
        assert rate is not None
        assert planned is not None
        slots = asyncio.Semaphore(self.plan.connections)
        in_flight: set[asyncio.Task[None]] = set()
        give_up_at = outcome.measure_until + BEHIND_LIMIT_S
        first_measured = math.ceil(self.plan.warmup_s * rate)
        for number in range(planned):
            due = self._next_due = started + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.stop.is_set():
                break
            await slots.acquire()
            now = time.perf_counter()
            if now > give_up_at:
                slots.release()
                outcome.unsent = planned - max(number, first_measured)
                break
            outcome.max_lag_s = max(outcome.max_lag_s, now - due)
            task = asyncio.create_task(self._one(number, due, outcome, slots))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        self._next_due = math.inf
        if in_flight:
            await asyncio.gather(*in_flight)

    async def _one(
        self, number: int, due: float, outcome: Outcome, slots: asyncio.Semaphore
    ) -> None:
        try:
            prepared = self.source.get(number)
            measured = due >= outcome.measure_from
            self.recorder.sent(measured)
            failure, body = await send(self.session, prepared)
            done_at = time.perf_counter()
            self.recorder.done(
                measured=measured,
                latency_s=done_at - due,
                outcome=failure,
                at=done_at,
                body=body,
                number=number,
            )
            self._answered()
        finally:
            slots.release()

    def _answered(self) -> None:
        if self.on_answer is not None:
            self.on_answer(self.recorder.answered)

    async def _progress(self, started: float, outcome: Outcome) -> None:
        warned = False
        last = started
        for tick in itertools.count(1):
            await asyncio.sleep(max(0.0, started + tick - time.perf_counter()))
            now = time.perf_counter()
            latencies, errors = self.recorder.take_interval()
            latencies.sort()
            middle = (last + now) / 2  # the phase most of this second was in
            if middle < outcome.measure_from:
                phase = "warm-up"
            elif middle < outcome.measure_until:
                phase = "measure"
            else:
                phase = "drain"
            line = (
                f"{now - started:6.1f}s {phase:<7} {len(latencies) / (now - last):7.0f} req/s"
                f"  errors {errors:5d}  in flight {self.recorder.in_flight:4d}"
                f"  p50 {percentile(latencies, 50) * 1000:7.1f}"
                f"  p99 {percentile(latencies, 99) * 1000:7.1f} ms"
            )
            if self.plan.open_loop:
                behind = max(0.0, now - self._next_due)
                line += f"  behind schedule {behind * 1000:6.1f} ms"
            say(line)
            last = now
            if not warned and RATE_LIMITED in self.recorder.samples:
                warned = True
                say(f"warning: {RATE_LIMIT_HINT}")

"""What a run records: counts, errors by kind, latencies of the measured window."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_SAMPLE_BYTES = 300


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank on an already sorted list."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def format_ms(summary: dict[str, float]) -> str:
    """`p50 1.2  p90 3.4 ...` of a `summary_ms`."""
    return "  ".join(f"{name} {value:.1f}" for name, value in summary.items())


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """Percentiles, max, min and mean of durations in seconds, in milliseconds ({} for none)."""
    ordered = sorted(seconds)
    if not ordered:
        return {}
    summary = {f"p{p:g}": percentile(ordered, p) * 1000 for p in PERCENTILES}
    summary["max"] = ordered[-1] * 1000
    summary["min"] = ordered[0] * 1000
    summary["mean"] = sum(ordered) / len(ordered) * 1000
    return summary


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return self.ok + sum(self.errors.values())


class Recorder:
    """Counts the warm-up and the measured window apart; latencies only for the window.

    `outcome` is None for a 2xx, otherwise a kind: `HTTP 429`, `ClientConnectorError`, ...
    With `answer_times`, it also keeps the wall-clock time (unix seconds) each measured 2xx
    arrived, by request number (`answered_at`), to compare with times other processes store.
    """

    def __init__(self, *, answer_times: bool = False) -> None:
        self.warmup = Tally()
        self.measured = Tally()
        self.latencies: list[float] = []  # seconds, measured window only
        self.last_done_at: float | None = None  # when the last measured request finished
        self.samples: dict[str, str] = {}  # the first response body of each error kind
        self.interval: list[float] = []  # latencies since the last progress line
        self.interval_errors = 0
        self.answered_at: dict[int, float] | None = {} if answer_times else None

    def sent(self, measured: bool) -> None:
        (self.measured if measured else self.warmup).sent += 1

    def done(
        self,
        *,
        measured: bool,
        latency_s: float,
        outcome: str | None,
        at: float,
        body: bytes = b"",
        number: int | None = None,
    ) -> None:
        tally = self.measured if measured else self.warmup
        self.interval.append(latency_s)
        if outcome is None:
            tally.ok += 1
            if measured and self.answered_at is not None and number is not None:
                self.answered_at[number] = time.time()
        else:
            tally.errors[outcome] += 1
            self.interval_errors += 1
            if outcome not in self.samples:
                self.samples[outcome] = body[:_SAMPLE_BYTES].decode(errors="replace")
        if measured:
            self.latencies.append(latency_s)
            self.last_done_at = at

    @property
    def answered(self) -> int:
        """Requests answered so far, warm-up included."""
        return self.warmup.done + self.measured.done

    @property
    def in_flight(self) -> int:
        return self.warmup.sent + self.measured.sent - self.warmup.done - self.measured.done

    def take_interval(self) -> tuple[list[float], int]:
        interval, errors = self.interval, self.interval_errors
        self.interval, self.interval_errors = [], 0
        return interval, errors

    def latency_ms(self) -> dict[str, float]:
        summary = summary_ms(self.latencies)
        summary.pop("min", None)
        return summary

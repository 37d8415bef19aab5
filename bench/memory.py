"""Resident memory of the processes involved, from /proc/<pid>/status (Linux only).

Each service of a spawned stack and the load generator: VmRSS, what the 100 MB target counts
(DESIGN.md, performance notes). The shared servers (Postgres, RabbitMQ) serve the whole machine
and share pages between their processes, so for them the sum of RssAnon (private memory) over
all their processes is reported, labelled machine-wide.

A run samples at its end, and with `--rss-every N` after every N answered requests (warm-up
included: the count is of requests the system handled); the summary gives each process's RSS at
every checkpoint and its growth from the second checkpoint to the last (the first absorbs
start-up and warm-up), and names the services above the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bench.cpu import SHARED_SERVERS, available, process_groups
from bench.runner import say

LIMIT_MB = 100.0  # DESIGN.md: every service <= 100 MB RSS
LOAD_GENERATOR = "load generator"
_MB = 1_000_000
_PROC_STATUS = "/proc/{pid}/status"


@dataclass(frozen=True)
class Memory:
    rss_kb: int  # VmRSS
    anon_kb: int  # RssAnon: the process's own pages, none shared with another


def parse_status(text: str) -> Memory | None:
    """VmRSS and RssAnon from the text of /proc/<pid>/status; None for a process without an
    address space (a zombie, a kernel thread)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            values[name] = int(rest.split()[0])  # "  61234 kB"
    if "VmRSS" not in values:
        return None
    return Memory(values["VmRSS"], values.get("RssAnon", values["VmRSS"]))


def read(pid: int) -> Memory | None:
    try:
        with open(_PROC_STATUS.format(pid=pid)) as status:
            return parse_status(status.read())
    except OSError:
        return None


class Checkpoints:
    """When to sample: after every `every` answered requests (never with `every` None)."""

    def __init__(self, every: int | None) -> None:
        self.every = every
        self.taken: list[tuple[int, dict[str, float]]] = []  # (answered, MB by label)

    def due(self, answered: int) -> bool:
        return self.every is not None and answered > 0 and answered % self.every == 0

    def record(self, answered: int, sample: dict[str, float]) -> None:
        self.taken.append((answered, sample))


class MemoryMeter:
    def __init__(self, services: dict[str, int], every: int | None = None) -> None:
        self._services = services  # name -> pid, for a stack this run started
        self.checkpoints = Checkpoints(every)
        self.end: dict[str, float] | None = None

    def sample(self) -> dict[str, float]:
        """MB by label: each service's and the load generator's VmRSS, the shared servers'
        RssAnon summed over their processes."""
        if not available():
            return {}
        found: dict[str, float] = {}
        for label, pids in process_groups(self._services).items():
            memories = [memory for pid in pids if (memory := read(pid)) is not None]
            if not memories:
                continue
            if label in SHARED_SERVERS:
                found[label] = sum(memory.anon_kb for memory in memories) * 1024 / _MB
            else:
                found[label] = sum(memory.rss_kb for memory in memories) * 1024 / _MB
        own = read(os.getpid())
        if own is not None:
            found[LOAD_GENERATOR] = own.rss_kb * 1024 / _MB
        return found

    def answered(self, count: int) -> None:
        """Called with the run's count of answered requests after each answer."""
        if not self.checkpoints.due(count):
            return
        sample = self.sample()
        self.checkpoints.record(count, sample)
        say(f"rss after {count:,} requests: " + _line(sample))

    def mark_end(self) -> None:
        self.end = self.sample()

    def summary(self) -> dict[str, Any]:
        return summarise(self.checkpoints.taken, self.end or {}, list(self._services))


def _line(sample: dict[str, float]) -> str:
    return ", ".join(f"{label} {mb:.1f}" for label, mb in sample.items()) + " MB"


def summarise(
    taken: list[tuple[int, dict[str, float]]], end: dict[str, float], services: list[str]
) -> dict[str, Any]:
    """The checkpoints, the end sample, each label's growth from the second checkpoint to the
    last (None with fewer than three: the first holds start-up), and the services whose RSS
    was above LIMIT_MB at any sample."""
    growth: dict[str, float] | None = None
    if len(taken) >= 3:
        second, last = taken[1][1], taken[-1][1]
        growth = {label: last[label] - second[label] for label in last if label in second}
    samples = [sample for _, sample in taken] + [end]
    over = {
        name: max(sample[name] for sample in samples if name in sample)
        for name in services
        if any(sample.get(name, 0.0) > LIMIT_MB for sample in samples)
    }
    return {
        "unit": "MB (10^6 bytes): VmRSS; the shared servers: RssAnon of all their processes",
        "limit_mb": LIMIT_MB,
        "end_mb": end,
        "checkpoints": [{"answered": answered, "mb": sample} for answered, sample in taken],
        "growth_mb": growth,
        "growth_from": taken[1][0] if growth is not None else None,
        "growth_to": taken[-1][0] if growth is not None else None,
        "over_limit_mb": over,
    }


def render(memory: dict[str, Any]) -> list[str]:
    end, checkpoints, growth = memory["end_mb"], memory["checkpoints"], memory["growth_mb"]
    if not end and not checkpoints:
        return []
    labels = list(end or checkpoints[-1]["mb"])
    lines = ["memory       RSS in MB (10^6 bytes)"]
    header = f"  {'':<30}" + "".join(f"{c['answered']:>10,}" for c in checkpoints)
    header += f"{'end':>10}" + (f"{'growth':>10}" if growth is not None else "")
    lines.append(header)
    for label in labels:
        row = f"  {label:<30}" + "".join(
            f"{c['mb'].get(label, float('nan')):>10.1f}" for c in checkpoints
        )
        row += f"{end.get(label, float('nan')):>10.1f}"
        if growth is not None:
            row += f"{growth.get(label, float('nan')):>+10.1f}"
        if label in memory["over_limit_mb"]:
            row += f"  ABOVE {memory['limit_mb']:g} MB"
        lines.append(row)
    if checkpoints:
        lines.append("  (columns: after that many answered requests, warm-up included)")
    if growth is not None:
        lines.append(
            f"  growth: from {memory['growth_from']:,} to {memory['growth_to']:,} answered requests"
        )
    lines.append(
        "  (postgres and rabbitmq: private memory (RssAnon) of all their processes, "
        "machine-wide: other work on them counts too)"
    )
    return lines

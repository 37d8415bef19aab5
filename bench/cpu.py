"""CPU time of the processes involved, from /proc, over the measured window (Linux only)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_PROC = Path("/proc")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# Shared servers, found by process name: they may serve other work on the machine too.
SHARED_SERVERS = {
    "rabbitmq (beam.smp)": ("beam.smp",),
    "postgres (all its processes)": ("postgres",),
}


def available() -> bool:
    return (_PROC / "stat").exists()


def _process_cpu_s(pid: int) -> float | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime + stime


def _machine() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine, all cores together."""
    first = (_PROC / "stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in first[:8]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / _TICKS_PER_S, sum(ticks) / _TICKS_PER_S


def process_groups(services: dict[str, int]) -> dict[str, list[int]]:
    """The processes to account for, by label: each service of a stack this run started (name
    -> pid), and the shared servers, all their processes."""
    groups: dict[str, list[int]] = {name: [pid] for name, pid in services.items()}
    for label, names in SHARED_SERVERS.items():
        groups[label] = _pids_named(names)
    return groups


def _pids_named(names: tuple[str, ...]) -> list[int]:
    pids = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            pids.append(int(entry.name))
    return pids


@dataclass
class Snapshot:
    at: float
    machine_busy_s: float
    machine_total_s: float
    own_s: float
    groups: dict[str, dict[int, float]] = field(default_factory=dict)


class CpuMeter:
    """Snapshots at the start and end of the measured window; `usage` compares them."""

    def __init__(self, services: dict[str, int]) -> None:
        self._services = services  # name -> pid, for a stack this run started
        self.start: Snapshot | None = None
        self.end: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        busy, total = _machine()
        groups = process_groups(self._services)
        return Snapshot(
            at=time.perf_counter(),
            machine_busy_s=busy,
            machine_total_s=total,
            own_s=time.process_time(),
            groups={
                label: {pid: cpu for pid in pids if (cpu := _process_cpu_s(pid)) is not None}
                for label, pids in groups.items()
            },
        )

    def mark_start(self) -> None:
        if available():
            self.start = self.snapshot()

    def mark_end(self) -> None:
        if self.start is not None and self.end is None:
            self.end = self.snapshot()

    def spent_since_start(self, label: str) -> float | None:
        """CPU seconds of one group from the window's start until now (past the window's end:
        the work a run left queued, done after it)."""
        if self.start is None:
            return None
        before = self.start.groups.get(label, {})
        after = self.snapshot().groups.get(label, {})
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

    @property
    def wall_s(self) -> float | None:
        start, end = self.start, self.end
        if start is None or end is None or end.at <= start.at:
            return None
        return end.at - start.at

    def usage(self) -> dict[str, float] | None:
        """Cores busy on average over the window, per process group (and `machine`)."""
        start, end, wall = self.start, self.end, self.wall_s
        if start is None or end is None or wall is None:
            return None
        cores = os.cpu_count() or 1
        machine_share = (end.machine_busy_s - start.machine_busy_s) / max(
            end.machine_total_s - start.machine_total_s, 1e-9
        )
        usage = {
            "machine": machine_share * cores,
            "load generator": (end.own_s - start.own_s) / wall,
        }
        for label, after in end.groups.items():
            before = start.groups.get(label, {})
            # A process that started inside the window counts whole; one that ended is lost.
            spent = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
            usage[label] = spent / wall
        usage["everything else"] = max(
            0.0, usage["machine"] - sum(v for k, v in usage.items() if k != "machine")
        )
        return usage

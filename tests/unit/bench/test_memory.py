"""Resident memory in the load generator's reports (`bench --rss-every`)."""

from __future__ import annotations

import os

import pytest

from bench.memory import Checkpoints, Memory, parse_status, read, render, summarise

STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  312000 kB
VmRSS:\t   61234 kB
RssAnon:\t   40960 kB
RssFile:\t   20274 kB
RssShmem:\t       0 kB
Threads:\t4
"""


def test_vm_rss_and_rss_anon_are_read_in_kilobytes() -> None:
    assert parse_status(STATUS) == Memory(rss_kb=61234, anon_kb=40960)


def test_a_process_without_an_address_space_has_no_memory() -> None:
    assert parse_status("Name:\tkthreadd\nState:\tS (sleeping)\n") is None


def test_this_process_reads_itself() -> None:
    own = read(os.getpid())
    assert own is not None
    assert own.rss_kb > 1000


def test_a_process_gone_reads_as_none() -> None:
    assert read(2**22 + 12345) is None


def test_checkpoints_fall_on_each_multiple() -> None:
    checkpoints = Checkpoints(20_000)
    due = [n for n in range(0, 100_001, 1000) if checkpoints.due(n)]
    assert due == [20_000, 40_000, 60_000, 80_000, 100_000]
    assert not Checkpoints(None).due(20_000)


def samples(*gateway_mb: float) -> list[tuple[int, dict[str, float]]]:
    return [
        (20_000 * (n + 1), {"gateway": mb, "badges": 60.0, "load generator": 150.0})
        for n, mb in enumerate(gateway_mb)
    ]


def test_growth_runs_from_the_second_checkpoint_to_the_last() -> None:
    memory = summarise(samples(70.0, 80.0, 81.0, 82.0, 85.5), {"gateway": 86.0}, ["gateway"])
    assert memory["growth_mb"]["gateway"] == pytest.approx(5.5)
    assert memory["growth_mb"]["badges"] == 0.0
    assert (memory["growth_from"], memory["growth_to"]) == (40_000, 100_000)
    assert [c["answered"] for c in memory["checkpoints"]] == [
        20_000,
        40_000,
        60_000,
        80_000,
        100_000,
    ]


def test_no_growth_with_fewer_than_three_checkpoints() -> None:
    assert summarise(samples(70.0, 80.0), {}, ["gateway"])["growth_mb"] is None


def test_only_services_above_the_limit_are_flagged() -> None:
    # The load generator is above 100 MB too, but it is the harness, not a service.
    memory = summarise(samples(70.0, 99.0, 101.5), {"gateway": 98.0}, ["gateway", "badges"])
    assert memory["over_limit_mb"] == {"gateway": 101.5}
    lines = render(memory)
    flagged = [line for line in lines if "ABOVE" in line]
    assert len(flagged) == 1
    assert flagged[0].lstrip().startswith("gateway")

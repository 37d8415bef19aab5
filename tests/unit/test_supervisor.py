"""When `make run` restarts a process that exited, and how it says why it exited."""

from __future__ import annotations

import pytest

from services.supervisor import HEALTHY_AFTER_S, Backoff, exit_reason, restart_delay


def test_the_delay_doubles_from_one_second_up_to_thirty() -> None:
    assert [restart_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


class TestBackoff:
    def test_quick_exits_in_a_row_wait_longer_each_time(self) -> None:
        backoff = Backoff()
        delays = [backoff.after_exit(ran_s=2) for _ in range(7)]
        assert delays == [1, 2, 4, 8, 16, 30, 30]
        assert backoff.restarts == 7

    def test_a_minute_of_running_starts_the_delays_over(self) -> None:
        backoff = Backoff()
        for _ in range(4):
            backoff.after_exit(ran_s=1)
        assert backoff.after_exit(ran_s=HEALTHY_AFTER_S) == 1
        assert backoff.after_exit(ran_s=1) == 2
        assert backoff.restarts == 6  # the count the user sees goes on

    def test_just_under_a_minute_is_not_healthy(self) -> None:
        backoff = Backoff()
        backoff.after_exit(ran_s=1)
        assert backoff.after_exit(ran_s=HEALTHY_AFTER_S - 0.1) == 2


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (0, "code 0"),
        (1, "code 1"),
        (-9, "code -9 (killed by SIGKILL)"),
        (-15, "code -15 (killed by SIGTERM)"),
        (-200, "code -200 (killed by signal 200)"),
    ],
)
def test_exit_reason(code: int, reason: str) -> None:
    assert exit_reason(code) == reason

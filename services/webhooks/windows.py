"""How many deliveries each endpoint may have in flight: a window per endpoint, opened wider by
each answer it gives in time and halved by each failure that is its own fault (additive
increase, multiplicative decrease, as TCP and Svix-like senders do).

A new or failing endpoint gets `start` slots, so a hanging one holds that many of this process's
deliveries and connections, never more; a healthy one soon gets up to `widest`, so one busy
receiver is not held to a few requests at a time."""

from __future__ import annotations

import uuid
from collections import Counter


class Windows:
    def __init__(self, *, start: int, widest: int) -> None:
        self._start = start
        self._widest = widest
        self._width: dict[uuid.UUID, int] = {}
        self._busy: Counter[uuid.UUID] = Counter()

    @property
    def start(self) -> int:
        """The free slots of an endpoint this process knows nothing of."""
        return self._start

    def free(self) -> dict[uuid.UUID, int]:
        """The free slots of every endpoint whose count differs from `start`."""
        known = self._width.keys() | self._busy.keys()
        free = {endpoint: self.width(endpoint) - self._busy[endpoint] for endpoint in known}
        return {endpoint: max(slots, 0) for endpoint, slots in free.items() if slots != self._start}

    def width(self, endpoint: uuid.UUID) -> int:
        return self._width.get(endpoint, self._start)

    def busy(self, endpoint: uuid.UUID) -> int:
        return self._busy[endpoint]

    def taken(self, endpoint: uuid.UUID) -> None:
        """A delivery of the endpoint went out."""
        self._busy[endpoint] += 1

    def returned(self, endpoint: uuid.UUID, answered: bool | None) -> None:
        """A delivery of the endpoint is settled: `answered` when the endpoint answered in time,
        False for a failure of its own, None when the outcome says nothing about it."""
        self._busy[endpoint] -= 1
        if self._busy[endpoint] <= 0:
            del self._busy[endpoint]
        if answered is None:
            return
        width = self.width(endpoint)
        width = min(width + 1, self._widest) if answered else max(width // 2, self._start)
        if width == self._start:
            self._width.pop(endpoint, None)
        else:
            self._width[endpoint] = width

    def forget_idle(self, endpoint: uuid.UUID) -> None:
        """An endpoint unused for long starts again from `start`."""
        if not self._busy[endpoint]:
            self._width.pop(endpoint, None)

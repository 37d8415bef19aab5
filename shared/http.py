"""HTTP details the services share: `Retry-After`, content negotiation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime


def retry_after_s(value: str | None) -> float | None:
    """`Retry-After` in seconds, from delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def preferred(accept: str | None, offered: Sequence[str]) -> str:
    """Which of `offered` media types (the server's order of preference) an `Accept` header
    prefers: the highest quality, ties to the server's order; the first when none matches or
    no header was sent. `*/*` and `type/*` match as RFC 9110 says; `q=0` refuses."""
    if not accept:
        return offered[0]
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))

    def quality_of(media_type: str) -> float:
        kind = media_type.split("/")[0] + "/*"
        best: tuple[int, float] = (-1, 0.0)  # (specificity, quality)
        for media, quality in ranges:
            specificity = {media_type: 2, kind: 1, "*/*": 0}.get(media, -1)
            if specificity > best[0]:
                best = (specificity, quality)
        return best[1]

    qualities = [quality_of(media_type) for media_type in offered]
    best = max(qualities)
    return offered[qualities.index(best)] if best > 0 else offered[0]

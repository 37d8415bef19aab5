"""One small error hierarchy whose classes state their outcome.

`AppError` subclasses are business outcomes: the gateway renders them as BadgeKit error bodies
(`{code, message, details?}`) with their HTTP status, and a service answering a request sends them
back as `{ok: false, error}`. For a message consumer, `RetryableError` means "nack and let the
broker deliver it again" and `PermanentError` means "dead-letter it now"; any other exception is
treated as retryable, so the queue's delivery limit finally dead-letters a poison message.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 500
    code: str = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, **self.extra, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body

    def to_wire(self) -> dict[str, Any]:
        return {"status": self.status, "headers": self.headers, **self.to_body()}

    @staticmethod
    def from_wire(wire: dict[str, Any]) -> AppError:
        """Rebuild an error sent by another service, keeping its status and body."""
        fields = dict(wire)
        status = int(fields.pop("status", 500))
        code = str(fields.pop("code", "InternalError"))
        message = str(fields.pop("message", "An internal error occurred"))
        headers = fields.pop("headers", None) or {}
        details = fields.pop("details", None)
        cls = _known_errors().get(code, AppError)
        error = cls.__new__(cls)  # bypass subclass constructors: the wire has every field
        AppError.__init__(error, message, details=details, headers=headers, **fields)
        error.status, error.code = status, code
        return error


class ValidationFailed(AppError):
    status = 400
    code = "ValidationError"

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("Could not validate required fields", details=details)


class InvalidParameter(AppError):
    status = 400
    code = "InvalidParameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, parameter=parameter)


class InvalidContent(AppError):
    status = 400
    code = "InvalidContent"


class NotAuthorized(AppError):
    status = 403
    code = "NotAuthorized"


class NotFound(AppError):
    status = 404
    code = "ResourceNotFound"


class MethodNotAllowed(AppError):
    status = 405
    code = "MethodNotAllowed"


class Conflict(AppError):
    status = 409
    code = "ResourceConflict"


class Gone(AppError):
    status = 410
    code = "ResourceGone"


class KeyInUse(AppError):
    """A request under an `Idempotency-Key` arrived while an earlier one with that key runs."""

    status = 409
    code = "IdempotencyKeyInUse"


class KeyMismatch(AppError):
    """An `Idempotency-Key` used again with another request body."""

    status = 422
    code = "IdempotencyKeyMismatch"


class PayloadTooLarge(AppError):
    status = 413
    code = "RequestEntityTooLarge"


class UnsupportedMediaType(AppError):
    status = 415
    code = "UnsupportedMediaType"


class UnusableImage(AppError):
    """A badge image that cannot be used as asked (baked, say): unreadable, unsafe, too large,
    or not to be had from its URL. The request was right; the image is not."""

    status = 422
    code = "UnusableImage"


class TooManyRequests(AppError):
    status = 429
    code = "TooManyRequests"


class InternalError(AppError):
    status = 500
    code = "InternalError"

    def __init__(self, message: str = "An internal error occurred") -> None:
        super().__init__(message)


class ServiceUnavailable(AppError):
    status = 503
    code = "ServiceUnavailable"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


def _known_errors() -> dict[str, type[AppError]]:
    known: dict[str, type[AppError]] = {}
    pending = list(AppError.__subclasses__())
    while pending:
        cls = pending.pop()
        known.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return known


class RetryableError(Exception):
    """A consumer could not finish now; the message is delivered again."""

    def __init__(self, message: str, *, delay_s: float = 1.0) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class PermanentError(Exception):
    """A message can never succeed; it goes to its queue's dead-letter queue at once."""

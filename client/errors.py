"""The exceptions this package raises, and the exit code each one maps to.

```
GyaruError
├── UsageError                  exit 2: the user's input is wrong
│   ├── ConfigError             a config file, flag, environment value or prompt file
│   ├── OutputDirError          the output directory cannot be written
│   ├── ModelNotServedError     the server does not serve the requested model
│   └── AuthError               the server rejects the API key (or its absence)
├── ServerUnavailableError      exit 1: nothing answers, or not ready in time
├── WorkerError                 exit 1: a pair-check worker process died
└── RequestError                one request failed (raised per attempt, never out of a run)
    ├── TransientError          worth retrying: connection, timeout, 408/409/429/5xx
    ├── FatalRequestError       not worth retrying: 400/401/403/404/422 ...
    └── ContentError            the reply held no usable JSON (bounded retries)
```

A batch whose attempts are exhausted becomes data (a failed batch record), not an
exception; only problems that make the whole run pointless leave `runner`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class GyaruError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = EXIT_FAILED


class UsageError(GyaruError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    pass


class OutputDirError(UsageError):
    pass


class ModelNotServedError(UsageError):
    pass


class AuthError(UsageError):
    pass


class ServerUnavailableError(GyaruError):
    pass


class WorkerError(GyaruError):
    pass


class RequestError(GyaruError):
    """One attempt at one request failed; `reason` is a short label for logs and counts."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class TransientError(RequestError):
    def __init__(
        self,
        message: str,
        *,
        reason: str,
        retry_after_s: float | None = None,
        endpoint_fault: bool = False,
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_s = retry_after_s
        # True when the endpoint itself looks broken (refused, reset, 5xx), which
        # is what takes it out of rotation when there are several.
        self.endpoint_fault = endpoint_fault


class FatalRequestError(RequestError):
    def __init__(self, message: str, *, status: int | None) -> None:
        super().__init__(message, reason=f"http_{status}" if status else "fatal")
        self.status = status


class ContentError(RequestError):
    def __init__(self, message: str, *, raw_text: str, finish_reason: str | None) -> None:
        super().__init__(message, reason="no_json")
        self.raw_text = raw_text
        self.finish_reason = finish_reason


def unwrap_group(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups from task groups.

    A task group reports a worker's error wrapped in an ExceptionGroup, together
    with the cancellations it caused; callers want the error itself.
    """
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not _is_cancellation(e)] or list(exc.exceptions)
        exc = inner[0]
    return exc


def _is_cancellation(exc: BaseException) -> bool:
    import anyio

    return isinstance(exc, anyio.get_cancelled_exc_class())

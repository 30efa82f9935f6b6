"""Every error the provider HTTP layer raises.

SourceError (A1rtError)                 root; every error names its source
├── SourceUnavailable                   the circuit breaker is open: no request was sent
├── SourceTimeout (TimeoutError)        connect or read timed out on every attempt
├── SourceConnectionError               the provider could not be reached on every attempt
├── SourceServerError                   5xx on every attempt
├── SourceRateLimited                   429 on every attempt, or a Retry-After past the max wait
├── SourceBadResponse                   HTML, empty, truncated or non-JSON body, wrong JSON type
├── SourceAuthError                     401/403: bad, missing or blocked key (provider's message)
│   └── SourceQuotaExceeded             the key's usage quota is spent until it resets
└── SourceRequestError                  any other 4xx: the request itself is wrong (e.g. 422)

Messages never contain an API key: they name the source and the path, not the full URL.
"""

from __future__ import annotations

from ..errors import A1rtError


class SourceError(A1rtError):
    """Root of the provider HTTP layer's errors; `source` names the provider."""

    def __init__(self, source: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status = status


class SourceUnavailable(SourceError):
    """Raised without sending anything when the source's circuit breaker is open."""

    def __init__(self, source: str, message: str, *, retry_in: float) -> None:
        super().__init__(source, message)
        self.retry_in = retry_in


class SourceTimeout(SourceError, TimeoutError):
    """Raised when connecting or reading timed out on every attempt."""


class SourceConnectionError(SourceError):
    """Raised when the provider could not be reached (refused, reset, DNS) on every attempt."""


class SourceServerError(SourceError):
    """Raised when the provider answered 5xx on every attempt; `retry_after` is the wait a 503
    asked for, in seconds, if it said."""

    def __init__(
        self, source: str, message: str, *, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(source, message, status=status)
        self.retry_after = retry_after


class SourceRateLimited(SourceError):
    """Raised when the provider answered 429 on every attempt, or asked (Retry-After) for a
    longer wait than the retry policy allows; `retry_after` is that wait in seconds if known."""

    def __init__(
        self, source: str, message: str, *, status: int | None = 429, retry_after: float | None
    ) -> None:
        super().__init__(source, message, status=status)
        self.retry_after = retry_after


class SourceBadResponse(SourceError):
    """Raised when a body is not the JSON asked for: an HTML page, empty, truncated, malformed,
    too large, or a JSON value of another top-level type."""


class _ProviderRefusal(SourceError):
    """A 4xx the provider explained; carries its error code, message and the body's start."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        status: int,
        error_code: str | None,
        provider_message: str | None,
        body: str,
    ) -> None:
        super().__init__(source, message, status=status)
        self.error_code = error_code
        self.provider_message = provider_message
        self.body = body


class SourceAuthError(_ProviderRefusal):
    """Raised at once on 401/403: the key is missing, wrong, deactivated or blocked (WAF)."""


class SourceQuotaExceeded(SourceAuthError):
    """Raised at once when the provider says the key's usage quota is spent (Odds API
    OUT_OF_USAGE_CREDITS, Sportradar "Developer Over Limit")."""


class SourceRequestError(_ProviderRefusal):
    """Raised at once on any other 4xx (400, 404, 422, ...): the caller's request is wrong."""

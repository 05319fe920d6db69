"""The error kinds of the contract, each with its exit status. Mapped once, in cli.run."""

from __future__ import annotations


class DevinError(Exception):
    kind = "api_error"
    exit_code = 8

    def __init__(self, message: str, *, http_status: int | None = None, kind: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after
        if kind:
            self.kind = kind

    def to_dict(self) -> dict:
        out: dict[str, object] = {"kind": self.kind, "message": self.message, "http_status": self.http_status}
        if self.retry_after is not None:
            out["retry_after_s"] = self.retry_after
        return out


class InvalidInput(DevinError):
    """Bad argument or id; nothing was sent."""
    kind, exit_code = "invalid_input", 2


class PolicyError(DevinError):
    """The payload policy refused a field or value; nothing was sent."""
    kind, exit_code = "policy", 2


class ConfigError(DevinError):
    """Token, org or base URL missing or refused; nothing was sent."""
    kind, exit_code = "config", 3


class AuthError(DevinError):
    kind, exit_code = "auth", 4


class NotFound(DevinError):
    kind, exit_code = "not_found", 5


class RateLimited(DevinError):
    kind, exit_code = "rate_limited", 6


class UnknownOutcome(DevinError):
    """The request may or may not have taken effect."""
    kind, exit_code = "unknown_outcome", 7


class NetworkError(DevinError):
    """Never connected, or the connection failed on a request that is safe to repeat."""
    kind, exit_code = "network", 7


class ApiError(DevinError):
    """5xx, malformed or oversized response, unexpected redirect, other refusals after sending."""
    kind, exit_code = "api_error", 8


class WaitTimeout(DevinError):
    """wait_session only: the wait ended while Devin is still working; only reads were sent. It carries
    the session as last seen and the wait's summary, so the error document still says where things stand."""
    kind, exit_code = "timeout", 9

    def __init__(self, message: str, *, session: dict | None = None, wait: dict | None = None):
        super().__init__(message)
        self.session = session
        self.wait = wait

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.session is not None:
            out["session"] = self.session
        if self.wait is not None:
            out["wait"] = self.wait
        return out


EXIT_CODES = {cls.kind: cls.exit_code for cls in
              (InvalidInput, PolicyError, ConfigError, AuthError, NotFound, RateLimited,
               UnknownOutcome, NetworkError, ApiError, WaitTimeout)}

"""The one error shape: every failure a client can see is a RunyardError.

Each subclass carries MLflow's ``error_code`` and HTTP status so the API layer renders
``{"error_code": ..., "message": ...}`` exactly as the stock client expects.
"""

from __future__ import annotations


class RunyardError(Exception):
    """Base class. ``error_code`` and ``http_status`` follow MLflow's wire conventions."""

    error_code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


class InvalidParameter(RunyardError):
    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class BadRequest(RunyardError):
    error_code = "BAD_REQUEST"
    http_status = 400


class MalformedRequest(RunyardError):
    error_code = "MALFORMED_REQUEST"
    http_status = 400


class NotFound(RunyardError):
    error_code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class AlreadyExists(RunyardError):
    error_code = "RESOURCE_ALREADY_EXISTS"
    http_status = 400


class InvalidState(RunyardError):
    error_code = "INVALID_STATE"
    http_status = 400


class PermissionDenied(RunyardError):
    error_code = "PERMISSION_DENIED"
    http_status = 403


class Unauthenticated(RunyardError):
    error_code = "UNAUTHENTICATED"
    http_status = 401


class RateLimited(RunyardError):
    error_code = "REQUEST_LIMIT_EXCEEDED"
    http_status = 429


# Device-code sign-in states (RFC 8628), in MLflow's error shape.
class AuthorizationPending(RunyardError):
    error_code = "AUTHORIZATION_PENDING"
    http_status = 400


class ExpiredToken(RunyardError):
    error_code = "EXPIRED_TOKEN"
    http_status = 400


class AccessDenied(RunyardError):
    error_code = "ACCESS_DENIED"
    http_status = 400


class EndpointNotFound(RunyardError):
    error_code = "ENDPOINT_NOT_FOUND"
    http_status = 404


class Unavailable(RunyardError):
    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


class InternalError(RunyardError):
    error_code = "INTERNAL_ERROR"
    http_status = 500


__all__ = [
    "AccessDenied",
    "AlreadyExists",
    "AuthorizationPending",
    "BadRequest",
    "EndpointNotFound",
    "ExpiredToken",
    "InternalError",
    "InvalidParameter",
    "InvalidState",
    "MalformedRequest",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RunyardError",
    "Unauthenticated",
    "Unavailable",
]

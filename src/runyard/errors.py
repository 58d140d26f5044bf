"""The one error shape: every failure a client can see is a RunyardError.

Each subclass carries MLflow's ``error_code`` and HTTP status so the API layer renders
``{"error_code": ..., "message": ..., "sqlstate": ..., "error_class": ...}`` exactly as
``mlflow server`` does and the stock client expects.
"""

from __future__ import annotations

# MLflow 3's classification of an error by its code, as its server sends it: (error_class,
# sqlstate). Codes it does not classify go without; the client then derives its own.
_KAM00, _XXM00 = "KAM00", "XXM00"  # a caller's mistake / the server's failure
_CLASSIFIED: dict[str, tuple[str, str]] = {
    "BAD_REQUEST": ("INVALID_PARAMETER_VALUE", _KAM00),
    "CUSTOMER_UNAUTHORIZED": ("PERMISSION_DENIED", _KAM00),
    "ENDPOINT_NOT_FOUND": ("RESOURCE_NOT_FOUND", _KAM00),
    "FEATURE_DISABLED": ("FEATURE_DISABLED", _KAM00),
    "INTERNAL_ERROR": ("CLIENT_INTERNAL_ERROR", _XXM00),
    "INVALID_PARAMETER_VALUE": ("INVALID_PARAMETER_VALUE", _KAM00),
    "INVALID_STATE": ("CLIENT_INTERNAL_ERROR", _XXM00),
    "NOT_FOUND": ("RESOURCE_NOT_FOUND", _KAM00),
    "PERMISSION_DENIED": ("PERMISSION_DENIED", _KAM00),
    "RESOURCE_ALREADY_EXISTS": ("RESOURCE_ALREADY_EXISTS", _KAM00),
    "RESOURCE_DOES_NOT_EXIST": ("RESOURCE_NOT_FOUND", _KAM00),
    "TEMPORARILY_UNAVAILABLE": ("CLIENT_INTERNAL_ERROR", _XXM00),
}


def error_body(error_code: str, message: str) -> dict[str, str]:
    """MLflow's error JSON for this code and message."""
    body = {"error_code": error_code, "message": message}
    classified = _CLASSIFIED.get(error_code)
    if classified is not None:
        body["sqlstate"] = classified[1]
        body["error_class"] = classified[0]
    return body


class RunyardError(Exception):
    """Base class. ``error_code`` and ``http_status`` follow MLflow's wire conventions."""

    error_code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return error_body(self.error_code, self.message)


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

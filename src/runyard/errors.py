"""The one error shape: every failure a client can see is a RunyardError.

Each subclass carries MLflow's ``error_code`` and HTTP status so the API layer renders
``{"error_code": ..., "message": ..., "sqlstate": ..., "error_class": ...}`` exactly as
``mlflow server`` does and the stock client expects.
"""

from __future__ import annotations

# MLflow 3's classification of an error by its code, as its server sends it. Codes it does
# not classify go without; the client then derives its own. The sqlstate follows the class:
# the server's own failures are XXM00, a caller's mistakes KAM00.
_ERROR_CLASS: dict[str, str] = {
    "BAD_REQUEST": "INVALID_PARAMETER_VALUE",
    "CUSTOMER_UNAUTHORIZED": "PERMISSION_DENIED",
    "ENDPOINT_NOT_FOUND": "RESOURCE_NOT_FOUND",
    "FEATURE_DISABLED": "FEATURE_DISABLED",
    "INTERNAL_ERROR": "CLIENT_INTERNAL_ERROR",
    "INVALID_PARAMETER_VALUE": "INVALID_PARAMETER_VALUE",
    "INVALID_STATE": "CLIENT_INTERNAL_ERROR",
    "NOT_FOUND": "RESOURCE_NOT_FOUND",
    "PERMISSION_DENIED": "PERMISSION_DENIED",
    "RESOURCE_ALREADY_EXISTS": "RESOURCE_ALREADY_EXISTS",
    "RESOURCE_DOES_NOT_EXIST": "RESOURCE_NOT_FOUND",
    "TEMPORARILY_UNAVAILABLE": "CLIENT_INTERNAL_ERROR",
}


def error_body(error_code: str, message: str) -> dict[str, str]:
    """MLflow's error JSON for this code and message."""
    body = {"error_code": error_code, "message": message}
    error_class = _ERROR_CLASS.get(error_code)
    if error_class is not None:
        body["sqlstate"] = "XXM00" if error_class == "CLIENT_INTERNAL_ERROR" else "KAM00"
        body["error_class"] = error_class
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

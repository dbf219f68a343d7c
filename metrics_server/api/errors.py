"""One error envelope for the whole API: every failure leaves as JSON `{"error": ..., ...}`, never an HTML page."""
import logging

from cassandra import DriverException
from flask import Flask, Response, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from metrics_server.errors import ApiError, StorageUnavailable, one_line
from metrics_server.jsonio import json_response

log = logging.getLogger(__name__)
ROUTING_MESSAGES = {
    404: "no such endpoint: {method} {path}",
    405: "method {method} is not allowed on {path}",
    413: "request body is larger than the limit of {limit} bytes (max_body_bytes)",
}


def is_driver_error(error: BaseException) -> bool:
    """The driver's failures (no host, timeouts, unavailable replicas) mean Cassandra is unavailable: 503."""
    return isinstance(error, DriverException) or type(error).__module__.startswith("cassandra")


def first_message(messages) -> tuple[str, str]:
    """The first (field path, message) of marshmallow's nested error dict, e.g. ('3.value', 'Not a number')."""
    path = []
    while isinstance(messages, dict):
        key, messages = next(iter(messages.items()))
        path.append(str(key))
    text = messages[0] if isinstance(messages, list) and messages else str(messages)
    while isinstance(text, (dict, list)):
        text = first_message(text)[1]
    return ".".join(path), text


def validation_error(error: ValidationError) -> ApiError:
    """A 400 naming the first bad field and why; all problems are kept in `fields`."""
    field, message = first_message(error.messages)
    text = f"{field}: {message}" if field and field != "_schema" else message
    return ApiError(text, 400, fields=error.messages)


def register_error_handlers(app: Flask) -> None:
    """Map every exception to the envelope: ours, marshmallow's, werkzeug's, and anything unexpected."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        response = json_response({"error": error.message, **error.details}, error.status, headers=error.headers)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(ValidationError)
    def invalid(error: ValidationError) -> Response:
        return api_error(validation_error(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = ROUTING_MESSAGES.get(error.code, error.description or error.name).format(
            method=request.method, path=request.path, limit=app.config.get("MAX_CONTENT_LENGTH"))
        response = json_response({"error": message}, error.code or 500)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if is_driver_error(error):
            return api_error(StorageUnavailable(f"Cassandra is unavailable: {one_line(error)}"))
        log.exception("unhandled error")
        return json_response({"error": "internal server error"}, 500)

"""Request bodies: JSON only, parsed once with orjson, with clear 415/400 errors."""
import orjson
from flask import request

from metrics_server.errors import ApiError


def json_body():
    """The parsed JSON body; 415 unless the client says it sends JSON, 400 when it is not valid JSON."""
    if not request.is_json:
        raise ApiError("expected Content-Type: application/json", 415)
    raw = request.get_data(cache=False)
    if not raw:
        raise ApiError("request body is empty; expected JSON", 400)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ApiError(f"request body is not valid JSON: {error}", 400) from None

"""Request bodies: the raw bytes, gunzipped when the client sent them gzip-encoded (agents do), never unpacked past
max_body_bytes; JSON parsed once with orjson. Clear 415/413/400 errors."""
import zlib

import orjson
from flask import current_app, request

from metrics_server.errors import ApiError


def request_bytes(encodings: tuple[str, ...] = ("identity", "gzip")) -> bytes:
    """The body, decoded by its Content-Encoding: gzip is unpacked here (at most max_body_bytes of it, so a small
    bomb cannot fill the memory), any other encoding the caller allows (snappy) is left to the caller; a 415
    names an encoding the endpoint does not take."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
    if encoding not in encodings:
        raise ApiError(f"Content-Encoding: expected {' or '.join(encodings)}, got {encoding!r}", 415)
    body = request.get_data(cache=False)
    if encoding != "gzip":
        return body
    return gunzip(body, current_app.config["MAX_CONTENT_LENGTH"])


def gunzip(body: bytes, limit: int) -> bytes:
    """Every gzip member of the body unpacked, each checked to its end (its CRC and length) before a byte is
    used: a truncated body is a 400, never a partial store (one stored 18937 for 189371972); past `limit`
    bytes a 413."""
    data, rest = b"", body
    while True:
        unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data += unpacker.decompress(rest, limit + 1 - len(data))
        except zlib.error as error:
            raise ApiError(f"Content-Encoding: gzip, but the body is not gzip ({error})", 400) from None
        if len(data) > limit or unpacker.unconsumed_tail:
            raise ApiError(f"the gunzipped body is larger than the limit of {limit} bytes (max_body_bytes)", 413)
        if not unpacker.eof:
            raise ApiError("Content-Encoding: gzip, but the gzip stream ends early (a truncated body)", 400)
        rest = unpacker.unused_data
        if not rest:
            return data


def json_body():
    """The parsed JSON body; 415 unless the client says it sends JSON, 400 when it is not valid JSON."""
    if not request.is_json:
        raise ApiError("expected Content-Type: application/json", 415)
    raw = request_bytes()
    if not raw:
        raise ApiError("request body is empty; expected JSON", 400)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ApiError(f"request body is not valid JSON: {error}", 400) from None

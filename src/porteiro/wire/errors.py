"""Error replies, in both firmware styles.

* **Legacy** [MULTI]: HTTP 400 with ``Error\\r\\nBad Request!\\r\\n``; also
  ``Error\\nNot Implemented!`` with 501 on some calls of an SS 5531 [SINGLE].
* **JSON envelopes** (newer firmware, bench-measured on SS 5531 MF EX 3.002) [SINGLE]:
  ``{"code":285278242,"message":""}`` (``application/json; charset=utf-8``, no
  trailing newline), and for batch calls HTTP 400 with
  ``{"code":268632336,"detail":{"FailCodes":[286064926],"FailCount":1},
  "message":"Batch Process Error"}``: the real reasons are in ``FailCodes``.

:func:`parse_error_reply` never raises; :func:`raise_for_error` turns a reply into
the matching exception of :mod:`porteiro.exceptions`.
"""

from __future__ import annotations

import json
from typing import Literal

import msgspec

from porteiro.codes import AUTHENTICATION, RequestError
from porteiro.exceptions import AuthenticationError, BatchError, DeviceError
from porteiro.wire.records import MAX_RAW_KEPT

__all__ = [
    "BATCH_ENVELOPE_CODE",
    "ErrorReply",
    "error_for_reply",
    "format_batch_error",
    "format_json_error",
    "format_legacy_error",
    "parse_error_reply",
]

BATCH_ENVELOPE_CODE = int(RequestError.BATCH_PROCESS_ERROR)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

Style = Literal["legacy", "json", "unknown"]
LegacyKind = Literal["bad_request", "not_implemented"]

_LEGACY = {
    "bad_request": (400, b"Error\r\nBad Request!\r\n"),
    "not_implemented": (501, b"Error\r\nNot Implemented!\r\n"),
}


class ErrorReply(msgspec.Struct, frozen=True):
    """An error the device answered with.

    ``code`` is the envelope's request error code (None for legacy replies);
    ``fail_codes`` the per-item reasons of a batch error.
    """

    http_status: int
    style: Style
    message: str = ""
    code: RequestError | None = None
    fail_codes: tuple[RequestError, ...] = ()
    fail_count: int | None = None
    raw: bytes = b""

    def describe(self, lang: Literal["en", "pt"] = "en") -> str:
        """One line naming the code(s) and their meaning."""
        if self.fail_codes:
            reasons = "; ".join(_name_code(c, lang) for c in self.fail_codes)
            head = "falha no lote" if lang == "pt" else "batch failed"
            return f"{head}: {reasons}"
        if self.code is not None:
            return _name_code(self.code, lang)
        return self.message or f"HTTP {self.http_status}"


def _name_code(code: RequestError, lang: Literal["en", "pt"]) -> str:
    """``USER_ALREADY_EXISTS (286064929): User already exists``."""
    return f"{code.name} ({int(code)}): {code.text(lang)}"


def _looks_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip()[:1] == b"{"


def _code(value: object) -> RequestError | None:
    return RequestError.get(value)


def parse_error_reply(
    status: int, body: bytes, content_type: str | None = None
) -> ErrorReply | None:
    """The error in a reply, or None when the reply is not an error. Never raises."""
    raw = body[:MAX_RAW_KEPT]
    if _looks_json(body, content_type):
        try:
            payload = json.loads(body.decode("utf-8", "replace"))
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." too deep
            payload = None
        if isinstance(payload, dict) and "code" in payload:
            code = _code(payload.get("code"))
            message = payload.get("message")
            detail = payload.get("detail")
            fail_codes: tuple[RequestError, ...] = ()
            fail_count = None
            if isinstance(detail, dict):
                listed = detail.get("FailCodes")
                if isinstance(listed, list):
                    fail_codes = tuple(c for c in map(_code, listed) if c is not None)
                count = detail.get("FailCount")
                fail_count = count if isinstance(count, int) and not isinstance(count, bool) \
                    else None
            if status < 400 and code is None and not fail_codes:
                return None
            return ErrorReply(status, "json", message if isinstance(message, str) else "",
                              code, fail_codes, fail_count, raw)
    text = body.decode("utf-8", "replace").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0] == "Error":
        return ErrorReply(status, "legacy", " ".join(lines[1:]) or "Error", raw=raw)
    if status >= 400:
        return ErrorReply(status, "unknown", text[:200], raw=raw)
    return None


def error_for_reply(reply: ErrorReply) -> DeviceError | AuthenticationError:
    """The exception for a reply: auth codes -> AuthenticationError, batch -> BatchError."""
    text = reply.describe("en")
    if reply.http_status == 401 or (reply.code is not None and reply.code in AUTHENTICATION):
        return AuthenticationError(text)
    if reply.fail_codes or reply.code == RequestError.BATCH_PROCESS_ERROR:
        return BatchError(text, code=reply.code, http_status=reply.http_status,
                          fail_codes=reply.fail_codes)
    return DeviceError(text, code=reply.code, http_status=reply.http_status)


# -- serializers ---------------------------------------------------------------------


def format_legacy_error(kind: LegacyKind = "bad_request") -> tuple[int, bytes, str]:
    """(status, body, content type) of a legacy text error."""
    status, body = _LEGACY[kind]
    return status, body, TEXT_CONTENT_TYPE


def format_json_error(code: int, message: str = "", *, status: int = 400
                      ) -> tuple[int, bytes, str]:
    """A JSON envelope exactly as the device writes it: compact, no trailing newline."""
    body = json.dumps({"code": int(code), "message": message}, separators=(",", ":"),
                      ensure_ascii=False).encode()
    return status, body, JSON_CONTENT_TYPE


def format_batch_error(fail_codes: list[int] | tuple[int, ...]) -> tuple[int, bytes, str]:
    """The batch envelope (HTTP 400) with the device's key order."""
    payload = {
        "code": BATCH_ENVELOPE_CODE,
        "detail": {"FailCodes": [int(c) for c in fail_codes], "FailCount": len(fail_codes)},
        "message": "Batch Process Error",
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return 400, body, JSON_CONTENT_TYPE

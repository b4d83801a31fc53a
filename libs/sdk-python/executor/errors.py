"""Errors raised by the SDK: what Executor answered, or why no answer came."""

from __future__ import annotations

import json
import re
from typing import Any, List, Mapping, Optional

__all__ = ["ExecutorError", "TemplateBuildError", "error_from_body", "parse_retry_after"]

# Codes the SDK itself gives when the server's answer never came or made no sense.
CONNECTION_FAILED = "CONNECTION_FAILED"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
BAD_RESPONSE = "BAD_RESPONSE"
RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
STREAM_ENDED = "STREAM_ENDED"
HTTP_ERROR = "HTTP_ERROR"
INVALID_ARGUMENT = "INVALID_ARGUMENT"

_MAX_MESSAGE = 2000
# Terminal escapes and control characters: a build log comes from commands a template ran.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tabs and newlines stay)."""
    return _CONTROL.sub("", text)


class ExecutorError(Exception):
    """An error answered by Executor (``{status: "error", error: {code, message}}``) or met on the way.

    ``status`` is the HTTP status, or None when no HTTP status applies (the server could not be
    reached, or the error arrived inside a stream that had already answered 200).
    ``retry_after`` is in seconds when the server said when to try again.
    """

    def __init__(
        self,
        status: Optional[int],
        code: str,
        message: str,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no HTTP status"
        return f"{self.code} ({where}): {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, retry_after={self.retry_after!r})"
        )


class TemplateBuildError(ExecutorError):
    """A custom template's image failed to build; ``build_log`` holds the end of its log."""

    def __init__(self, name: str, message: str, build_log: List[str]) -> None:
        super().__init__(None, "TEMPLATE_BUILD_FAILED", f"template {name}: {printable(message)}")
        self.name = name
        self.build_log = [printable(line) for line in build_log]

    def __str__(self) -> str:
        tail = "\n".join(self.build_log[-30:])
        return f"{super().__str__()}\n--- build log (end) ---\n{tail}" if tail else super().__str__()


def parse_retry_after(value: Any) -> Optional[float]:
    """Seconds from a ``Retry-After`` header or a ``retry_after`` field; None unless a sane number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            seconds = float(value.strip())
        except ValueError:
            return None  # an HTTP date: not used by Executor
    else:
        return None
    if seconds != seconds or seconds < 0 or seconds > 86400:
        return None
    return seconds


def _text(value: Any, fallback: str) -> str:
    if isinstance(value, str) and value:
        return value[:_MAX_MESSAGE]
    return fallback


def error_from_body(status: int, body: bytes, headers: Mapping[str, str]) -> ExecutorError:
    """The error an HTTP reply carries; a body that is not Executor's error shape still gives one."""
    code = HTTP_ERROR
    message = f"HTTP {status}"
    retry_after = None
    try:
        parsed = json.loads(body.decode("utf-8", "replace")) if body else None
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error")
        if isinstance(err, dict):
            code = _text(err.get("code"), code)[:100]
            message = _text(err.get("message"), message)
            retry_after = parse_retry_after(err.get("retry_after"))
        elif isinstance(parsed.get("message"), str):
            message = _text(parsed.get("message"), message)
    if retry_after is None:
        retry_after = parse_retry_after(_header(headers, "retry-after"))
    return ExecutorError(status, code, message, retry_after)


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None

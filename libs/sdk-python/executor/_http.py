"""HTTP to Executor with the standard library: configuration, limits, retries, NDJSON streams."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from ._version import __version__
from .errors import (
    BAD_RESPONSE,
    CONNECTION_FAILED,
    INVALID_ARGUMENT,
    REQUEST_TIMEOUT,
    RESPONSE_TOO_LARGE,
    STREAM_ENDED,
    ExecutorError,
    error_from_body,
)

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 60.0
# stdout and stderr are capped at 1 MiB each on the server, files at 10 MB each and 100 MB in
# all (base64 in JSON adds a third): a reply beyond this is not one Executor sends.
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
# The longest run the server allows; a run without its own timeout may take that long.
MAX_RUN_SECONDS = 300.0
_ERROR_BODY_LIMIT = 1024 * 1024
_CHUNK = 64 * 1024

# Answers that say the request was refused before anything ran, so even a call that is not
# idempotent (a run, a session's creation) can be sent again safely. Not DEPENDENCY_UNAVAILABLE:
# the API also answers it when its connection dropped while the run may have gone ahead.
REFUSED_BEFORE_RUNNING = frozenset({"RATE_LIMITED", "CONCURRENCY_LIMIT", "RUNNER_BUSY", "IMAGE_NOT_READY"})
# Over a limit that waiting does not lift.
_NOT_WORTH_RETRYING = frozenset({"QUOTA_EXCEEDED", "SESSION_LIMIT"})


def retry_delay(
    error: ExecutorError,
    idempotent: bool,
    attempt: int,
    max_retries: int,
    max_wait: float,
) -> Optional[float]:
    """Seconds to wait before sending the request again, or None to give up and raise ``error``.

    Only 429 and 503 are retried: any idempotent call, and other calls only when the code says
    nothing ran. ``Retry-After`` is honoured; a wait longer than ``max_wait`` is not waited.
    """
    if error.status not in (429, 503) or attempt >= max_retries:
        return None
    if error.code in _NOT_WORTH_RETRYING:
        return None
    if not idempotent and error.code not in REFUSED_BEFORE_RUNNING:
        return None
    if error.code == "IMAGE_NOT_READY" and error.retry_after is None:
        return None  # the build failed: asking again only builds it again
    wait = error.retry_after if error.retry_after is not None else min(0.5 * (2**attempt), 8.0)
    return wait if wait <= max_wait else None


def _env_float(name: str) -> Optional[float]:
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ExecutorError(None, INVALID_ARGUMENT, f"{name} must be a number of seconds") from None
    if not value > 0:
        raise ExecutorError(None, INVALID_ARGUMENT, f"{name} must be a positive number of seconds")
    return value


class Client:
    """Where Executor is and how to talk to it.

    Arguments win over the environment: ``url`` (``EXECUTOR_URL``, default
    http://127.0.0.1:8080), ``api_key`` (``EXECUTOR_API_KEY``, sent as a Bearer token), ``tenant``
    (``EXECUTOR_TENANT``; without a key the tenant is self-declared and defaults to ``default``,
    with a key the key names it), ``request_timeout`` (``EXECUTOR_REQUEST_TIMEOUT``, seconds to
    wait for each read from the server; a run adds its own timeout on top), ``max_retries`` and
    ``max_retry_wait`` for 429/503 answers.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        tenant: Optional[str] = None,
        request_timeout: Optional[float] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.url = (url or os.environ.get("EXECUTOR_URL") or DEFAULT_URL).rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ExecutorError(None, INVALID_ARGUMENT, f"url must be http(s)://host[:port], not {self.url[:100]!r}")
        try:
            port = parts.port
        except ValueError:
            raise ExecutorError(None, INVALID_ARGUMENT, f"url has a bad port: {self.url[:100]!r}") from None
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = port
        self._prefix = parts.path.rstrip("/")
        self.api_key = api_key if api_key is not None else (os.environ.get("EXECUTOR_API_KEY") or None)
        self.tenant = tenant or os.environ.get("EXECUTOR_TENANT") or (None if self.api_key else "default")
        timeout = request_timeout if request_timeout is not None else _env_float("EXECUTOR_REQUEST_TIMEOUT")
        self.request_timeout = float(timeout) if timeout is not None else DEFAULT_REQUEST_TIMEOUT
        if not self.request_timeout > 0:
            raise ExecutorError(None, INVALID_ARGUMENT, "request_timeout must be a positive number of seconds")
        if max_retries < 0 or max_retry_wait < 0 or max_response_bytes < 1024:
            raise ExecutorError(None, INVALID_ARGUMENT, "max_retries, max_retry_wait and max_response_bytes are too small")
        self.max_retries = max_retries
        self.max_retry_wait = float(max_retry_wait)
        self.max_response_bytes = max_response_bytes

    def __repr__(self) -> str:  # never the key
        return f"Client(url={self.url!r}, tenant={self.tenant!r})"

    def run_timeout(self, timeout: Optional[float]) -> float:
        """How long to wait for a run's reply: the run's own timeout plus the request timeout."""
        return self.request_timeout + (float(timeout) if timeout else MAX_RUN_SECONDS)

    # -- calls -------------------------------------------------------------------------------

    def json(
        self,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, str]] = None,
        idempotent: bool = False,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """One call answered by a JSON object."""
        conn, resp = self._open(method, path, body, query, idempotent, timeout, "application/json")
        try:
            raw = self._read_all(resp, None, self._deadline(timeout))
        finally:
            conn.close()
        try:
            parsed = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
            raise ExecutorError(resp.status, BAD_RESPONSE, "the server's reply is not JSON") from None
        if not isinstance(parsed, dict):
            raise ExecutorError(resp.status, BAD_RESPONSE, "the server's reply is not a JSON object")
        return parsed

    def raw(self, path: str, query: Mapping[str, str], timeout: Optional[float] = None) -> bytes:
        """One idempotent GET answered by bytes (a file download)."""
        conn, resp = self._open("GET", path, None, query, True, timeout, "*/*")
        try:
            return self._read_all(resp, None, self._deadline(timeout))
        finally:
            conn.close()

    def stream(
        self,
        path: str,
        body: Mapping[str, Any],
        on_frame: Callable[[Dict[str, Any]], Optional[Dict[str, Any]]],
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """A run streamed as NDJSON; ``on_frame`` sees each frame and returns the final result when done.

        Every line is bounded; an exception from ``on_frame`` closes the connection, which the
        server takes as a cancel.
        """
        conn, resp = self._open("POST", path, {**body, "stream": True}, None, False, timeout, "application/x-ndjson")
        deadline = self._deadline(timeout)
        try:
            while True:
                if time.monotonic() > deadline:  # keep-alives alone must not hold a run open forever
                    raise ExecutorError(None, REQUEST_TIMEOUT, "the stream went on longer than the timeout")
                try:
                    line = resp.readline(self.max_response_bytes + 1)
                except (socket.timeout, TimeoutError):
                    raise ExecutorError(None, REQUEST_TIMEOUT, "the stream went quiet longer than the timeout") from None
                except (OSError, http.client.HTTPException) as e:
                    raise ExecutorError(None, CONNECTION_FAILED, f"the stream broke: {type(e).__name__}") from None
                if not line:
                    raise ExecutorError(None, STREAM_ENDED, "the stream ended before the result")
                if len(line) > self.max_response_bytes:
                    raise ExecutorError(None, RESPONSE_TOO_LARGE, "a stream line is larger than max_response_bytes")
                text = line.strip()
                if not text:
                    continue
                try:
                    frame = json.loads(text.decode("utf-8"))
                except (ValueError, RecursionError):
                    raise ExecutorError(None, BAD_RESPONSE, "a stream line is not JSON") from None
                if not isinstance(frame, dict):
                    raise ExecutorError(None, BAD_RESPONSE, "a stream line is not a JSON object")
                result = on_frame(frame)
                if result is not None:
                    return result
        finally:
            conn.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _headers(self, has_body: bool, accept: str) -> Dict[str, str]:
        headers = {"Accept": accept, "User-Agent": f"executor-python/{__version__}"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _open(
        self,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]],
        query: Optional[Mapping[str, str]],
        idempotent: bool,
        timeout: Optional[float],
        accept: str,
    ) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sends the request, retrying 429/503 as retry_delay says; returns a 2xx response to read."""
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        attempt = 0
        while True:
            conn = self._connection(timeout or self.request_timeout)
            try:
                conn.request(method, target, body=payload, headers=self._headers(payload is not None, accept))
                resp = conn.getresponse()
            except (socket.timeout, TimeoutError):
                conn.close()
                raise ExecutorError(None, REQUEST_TIMEOUT, f"{method} {path}: no answer in time") from None
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                raise ExecutorError(
                    None, CONNECTION_FAILED, f"{method} {path}: cannot reach {self.url} ({type(e).__name__})"
                ) from None
            if 200 <= resp.status < 300:
                return conn, resp
            try:
                error_body = self._read_all(resp, _ERROR_BODY_LIMIT, self._deadline(None))
            except ExecutorError:
                error_body = b""
            finally:
                conn.close()
            error = error_from_body(resp.status, error_body, dict(resp.getheaders()))
            wait = retry_delay(error, idempotent, attempt, self.max_retries, self.max_retry_wait)
            if wait is None:
                raise error
            time.sleep(wait)
            attempt += 1

    def _deadline(self, timeout: Optional[float]) -> float:
        """When reading a reply must be done: a server trickling bytes cannot hold a call forever."""
        return time.monotonic() + (timeout or self.request_timeout)

    def _read_all(self, resp: http.client.HTTPResponse, limit: Optional[int], deadline: float) -> bytes:
        cap = limit if limit is not None else self.max_response_bytes
        length = resp.getheader("content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            raise ExecutorError(resp.status, RESPONSE_TOO_LARGE, f"the reply ({length} bytes) is over {cap} bytes")
        chunks = []
        total = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise ExecutorError(None, REQUEST_TIMEOUT, "the reply took longer than the timeout")
                chunk = resp.read1(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise ExecutorError(resp.status, RESPONSE_TOO_LARGE, f"the reply is over {cap} bytes")
                chunks.append(chunk)
        except (socket.timeout, TimeoutError):
            raise ExecutorError(None, REQUEST_TIMEOUT, "the reply stalled longer than the timeout") from None
        except (OSError, http.client.HTTPException) as e:
            raise ExecutorError(None, CONNECTION_FAILED, f"the reply broke off ({type(e).__name__})") from None
        return b"".join(chunks)


"""``CodeSandbox``: one sandbox (a session on the server) held for a ``with`` block."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, List, Mapping, Optional, Type, Union

from ._api import Api, FileContent, FilesArg, OutputCallback, ResultCallback
from ._http import Client
from .errors import ExecutorError
from .models import ExecutionResult, FileEntry

__all__ = ["CodeSandbox"]

# Answers to a destroy that mean the session is gone already.
_GONE = frozenset({"SESSION_NOT_FOUND", "SESSION_EXPIRED", "SESSION_DESTROYED", "SESSION_LOST"})


def _client(client: Optional[Client], options: Mapping[str, Any]) -> Client:
    if client is not None:
        if options:
            raise ExecutorError(None, "INVALID_ARGUMENT", "give either client= or connection options, not both")
        return client
    return Client(**options)


class CodeSandbox:
    """A sandbox that keeps variables, imports and files between runs until it is closed.

    ``with CodeSandbox(template="python-data") as sandbox:`` creates it on entry and destroys it
    on exit. Outside a ``with`` block it starts on first use; call ``close()`` when done.
    Connection options (``url``, ``api_key``, ``tenant``, ``request_timeout``, ``max_retries``)
    are those of :class:`executor.Client`, or pass ``client=``.
    """

    def __init__(
        self,
        template: Optional[str] = None,
        ttl: Optional[int] = None,
        scope: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
        client: Optional[Client] = None,
        **options: Any,
    ) -> None:
        self._api = Api(_client(client, options))
        self.template = template
        self.ttl = ttl
        self.scope = scope
        self.metadata = metadata
        self.session_id: Optional[str] = None
        self.reused = False

    def __repr__(self) -> str:
        return f"CodeSandbox(template={self.template!r}, session_id={self.session_id!r})"

    @property
    def client(self) -> Client:
        return self._api.client

    def start(self) -> "CodeSandbox":
        """Creates the sandbox unless it is running; returns self."""
        if self.session_id is None:
            reply = self._api.create_session(self.template, self.ttl, self.scope, self.metadata)
            self.session_id = str(reply["session_id"])
            template = reply.get("template")
            if isinstance(template, str):
                self.template = template
            self.reused = reply.get("reused") is True
        return self

    def close(self) -> None:
        """Destroys the sandbox; its state and files are gone. Closing twice does nothing."""
        session_id, self.session_id = self.session_id, None
        if session_id is None:
            return
        try:
            self._api.destroy_session(session_id)
        except ExecutorError as e:
            if e.code not in _GONE:
                raise

    def __enter__(self) -> "CodeSandbox":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        try:
            self.close()
        except ExecutorError:
            if exc is None:
                raise  # an error of the block wins over one of the clean-up

    def _id(self) -> str:
        self.start()
        assert self.session_id is not None
        return self.session_id

    def run(
        self,
        code: str,
        language: Optional[str] = None,
        timeout: Optional[float] = None,
        files: Optional[FilesArg] = None,
        on_stdout: Optional[OutputCallback] = None,
        on_stderr: Optional[OutputCallback] = None,
        on_result: Optional[ResultCallback] = None,
    ) -> ExecutionResult:
        """Runs code in the sandbox; with a callback, output is streamed to it as it happens."""
        return self._api.session_execute(
            self._id(), code, language, timeout, files, on_stdout, on_stderr, on_result
        )

    def upload_file(self, path: str, content: Union[FileContent, Path]) -> int:
        """Writes ``content`` (text, bytes, or a local ``pathlib.Path`` to read) to ``/workspace/<path>``."""
        data = content.read_bytes() if isinstance(content, Path) else content
        return self._api.upload_file(self._id(), path, data)

    def download_file(self, path: str, destination: Optional[Union[str, Path]] = None) -> bytes:
        """The bytes of ``/workspace/<path>``; also written to ``destination`` when given."""
        data = self._api.download_file(self._id(), path)
        if destination is not None:
            Path(destination).write_bytes(data)
        return data

    def list_files(self, path: str = "") -> List[FileEntry]:
        return self._api.list_files(self._id(), path)

    def delete_file(self, path: str) -> None:
        self._api.delete_file(self._id(), path)

    def make_dir(self, path: str) -> None:
        self._api.make_dir(self._id(), path)

"""``CodeSandbox``: one sandbox (a session on the server) held for a ``with`` block."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Mapping, Optional, Union

from ._api import Api, FileContent, RunArgs
from ._http import Client
from ._public import ClosedOnExit, Runs, client_of
from .models import ExecutionResult, FileEntry

__all__ = ["CodeSandbox"]


class CodeSandbox(ClosedOnExit, Runs):
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
        self._api = Api(client_of(client, options))
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
        if session_id is not None:
            self._api.destroy_session(session_id, gone_ok=True)

    def __enter__(self) -> "CodeSandbox":
        return self.start()

    def _id(self) -> str:
        self.start()
        assert self.session_id is not None
        return self.session_id

    def _run(self, args: RunArgs) -> ExecutionResult:
        return self._api.session_execute(self._id(), args)

    def upload_file(self, path: str, content: Union[FileContent, Path]) -> int:
        """Writes ``content`` (text, bytes, or a local ``pathlib.Path`` to read) to ``/workspace/<path>``."""
        return self._api.upload_file(self._id(), path, content)

    def download_file(self, path: str, destination: Optional[Union[str, Path]] = None) -> bytes:
        """The bytes of ``/workspace/<path>``; also written to ``destination`` when given."""
        return self._api.download_file(self._id(), path, destination)

    def list_files(self, path: str = "") -> List[FileEntry]:
        return self._api.list_files(self._id(), path)

    def delete_file(self, path: str) -> None:
        self._api.delete_file(self._id(), path)

    def make_dir(self, path: str) -> None:
        self._api.make_dir(self._id(), path)

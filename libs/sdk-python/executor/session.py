"""``SessionManager``: sessions by id, their files, and the service's metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from ._api import Api, FileContent, FilesArg, OutputCallback, ResultCallback, RunArgs
from ._http import Client
from ._public import ClosedOnExit, client_of
from .errors import ExecutorError
from .models import ExecutionResult, FileEntry, SessionInfo

__all__ = ["SessionManager"]


class SessionManager(ClosedOnExit):
    """Creates sessions and works on them by id; ``with SessionManager() as manager:`` destroys
    the sessions it created when the block ends (``close()`` does the same).

    Connection options (``url``, ``api_key``, ``tenant``, ``request_timeout``, ``max_retries``)
    are those of :class:`executor.Client`, or pass ``client=``.
    """

    def __init__(self, client: Optional[Client] = None, **options: Any) -> None:
        self._api = Api(client_of(client, options))
        self._created: List[str] = []

    @property
    def client(self) -> Client:
        return self._api.client

    def __enter__(self) -> "SessionManager":
        return self

    def close(self) -> None:
        """Destroys every session this manager created and has not destroyed yet."""
        failures: List[ExecutorError] = []
        while self._created:
            session_id = self._created.pop()
            try:
                self._api.destroy_session(session_id, gone_ok=True)
            except ExecutorError as e:
                failures.append(e)
        if failures:
            raise failures[0]

    def create_session(
        self,
        template: Optional[str] = None,
        ttl: Optional[int] = None,
        scope: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> str:
        """A new session's id. ``ttl`` is its idle timeout in seconds (sliding); with ``scope`` the
        tenant's live session of that scope and template is reused instead (not destroyed by close()).
        """
        reply = self._api.create_session(template, ttl, scope, metadata)
        session_id = str(reply["session_id"])
        if reply.get("reused") is not True:
            self._created.append(session_id)
        return session_id

    def execute_in_session(
        self,
        session_id: str,
        code: str,
        language: Optional[str] = None,
        timeout: Optional[float] = None,
        files: Optional[FilesArg] = None,
        on_stdout: Optional[OutputCallback] = None,
        on_stderr: Optional[OutputCallback] = None,
        on_result: Optional[ResultCallback] = None,
    ) -> ExecutionResult:
        """Runs code in the session: variables, imports and files persist between calls."""
        args = RunArgs(code, language, timeout, files, on_stdout, on_stderr, on_result)
        return self._api.session_execute(session_id, args)

    def destroy_session(self, session_id: str) -> None:
        """Ends the session; a later call on it raises SESSION_DESTROYED (410)."""
        self._api.destroy_session(session_id)
        if session_id in self._created:
            self._created.remove(session_id)

    def get_session(self, session_id: str) -> SessionInfo:
        return self._api.get_session(session_id)

    def list_sessions(self) -> List[SessionInfo]:
        """The tenant's live sessions."""
        return self._api.list_sessions()

    def upload_file(self, session_id: str, path: str, content: Union[FileContent, Path]) -> int:
        """Writes ``content`` (text, bytes, or a local ``pathlib.Path`` to read) to ``/workspace/<path>``;
        returns its size."""
        return self._api.upload_file(session_id, path, content)

    def download_file(self, session_id: str, path: str, destination: Optional[Union[str, Path]] = None) -> bytes:
        """The bytes of ``/workspace/<path>``; also written to ``destination`` when given."""
        return self._api.download_file(session_id, path, destination)

    def list_files(self, session_id: str, path: str = "") -> List[FileEntry]:
        return self._api.list_files(session_id, path)

    def delete_file(self, session_id: str, path: str) -> None:
        self._api.delete_file(session_id, path)

    def make_dir(self, session_id: str, path: str) -> None:
        self._api.make_dir(session_id, path)

    def metrics(self) -> Dict[str, Any]:
        """The service's counters and gauges (``GET /metrics``)."""
        return self._api.metrics()

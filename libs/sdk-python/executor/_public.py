"""What the public classes share: how they get a Client, closing on leaving a ``with`` block,
and the one ``run`` signature of CodeSandbox and CodeInterpreter."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Mapping, Optional, Type

from ._api import FilesArg, OutputCallback, ResultCallback, RunArgs
from ._http import Client
from .errors import INVALID_ARGUMENT, ExecutorError
from .models import ExecutionResult


def client_of(client: Optional[Client], options: Mapping[str, Any]) -> Client:
    """``client=`` or a new Client of the connection options, never both."""
    if client is not None:
        if options:
            raise ExecutorError(None, INVALID_ARGUMENT, "give either client= or connection options, not both")
        return client
    return Client(**options)


class ClosedOnExit:
    """``__exit__`` calls ``close()``; an error of the block wins over one of the clean-up."""

    def close(self) -> None:
        raise NotImplementedError

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
                raise


class Runs:
    """``run(code, …)`` with the arguments every run takes; the class says where it runs."""

    def _run(self, args: RunArgs) -> ExecutionResult:
        raise NotImplementedError

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
        """Runs ``code`` (``language`` defaults to the template's first, usually python).

        ``timeout`` is in seconds (a run past it comes back with ``timed_out=True``); ``files``
        are written under ``/workspace`` first (``{"path": "text" or b"bytes"}``). With
        ``on_stdout``, ``on_stderr`` or ``on_result`` the output is streamed to them as it happens.
        """
        return self._run(RunArgs(code, language, timeout, files, on_stdout, on_stderr, on_result))

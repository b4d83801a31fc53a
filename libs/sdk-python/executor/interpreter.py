"""``CodeInterpreter``: runs code in a sandbox (state kept) or, without one, in a fresh sandbox each time."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ._api import Api, FilesArg, OutputCallback, ResultCallback
from ._http import Client
from .models import ExecutionResult
from .sandbox import CodeSandbox, _client

__all__ = ["CodeInterpreter"]


class CodeInterpreter:
    """``CodeInterpreter(sandbox).run(code)`` runs in that sandbox; ``CodeInterpreter(template=…)``
    runs each call one-off in a fresh sandbox that is thrown away after.
    """

    def __init__(
        self,
        sandbox: Optional[CodeSandbox] = None,
        template: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        client: Optional[Client] = None,
        **options: Any,
    ) -> None:
        self.sandbox = sandbox
        self.template = template
        self.env = env
        if sandbox is not None and client is None and not options:
            client = sandbox.client
        self._api = Api(_client(client, options))

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
        if self.sandbox is not None:
            return self.sandbox.run(code, language, timeout, files, on_stdout, on_stderr, on_result)
        return self._api.execute(
            code, self.template, language, timeout, files, self.env, on_stdout, on_stderr, on_result
        )

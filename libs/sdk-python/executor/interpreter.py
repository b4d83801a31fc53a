"""``CodeInterpreter``: runs code in a sandbox (state kept) or, without one, in a fresh sandbox each time."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ._api import Api, RunArgs
from ._http import Client
from ._public import Runs, client_of
from .models import ExecutionResult
from .sandbox import CodeSandbox

__all__ = ["CodeInterpreter"]


class CodeInterpreter(Runs):
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
        self._api = Api(client_of(client, options))

    def _run(self, args: RunArgs) -> ExecutionResult:
        if self.sandbox is not None:
            return self.sandbox._run(args)
        return self._api.execute(args, self.template, self.env)

"""Executor's Python SDK: run untrusted code in throw-away sandboxes over Executor's HTTP API.

    from executor.sandbox import CodeSandbox
    from executor.interpreter import CodeInterpreter

    with CodeSandbox(template="python-data") as sandbox:
        result = CodeInterpreter(sandbox).run("print(6 * 7)")

Only the standard library is used. See README.md for the whole API.
"""

from ._http import Client
from ._version import __version__
from .errors import ExecutorError, TemplateBuildError
from .interpreter import CodeInterpreter
from .models import Artifact, ExecutionError, ExecutionResult, FileEntry, RichResult, SessionInfo, TemplateInfo
from .sandbox import CodeSandbox
from .session import SessionManager
from .templates import SandboxTemplate, TemplateManager, template_manager

__all__ = [
    "Artifact",
    "Client",
    "CodeInterpreter",
    "CodeSandbox",
    "ExecutionError",
    "ExecutionResult",
    "ExecutorError",
    "FileEntry",
    "RichResult",
    "SandboxTemplate",
    "SessionInfo",
    "SessionManager",
    "TemplateBuildError",
    "TemplateInfo",
    "TemplateManager",
    "__version__",
    "template_manager",
]

"""Each HTTP endpoint once: what the public classes (CodeSandbox, SessionManager, template_manager) call."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from ._http import Client
from .errors import BAD_RESPONSE, INVALID_ARGUMENT, ExecutorError
from .models import ExecutionResult, FileEntry, RichResult, SessionInfo, TemplateInfo

FileContent = Union[str, bytes, bytearray, memoryview]
FilesArg = Union[Mapping[str, FileContent], Iterable[Union[Mapping[str, Any], Tuple[str, FileContent]]]]
OutputCallback = Callable[[str], None]
ResultCallback = Callable[[RichResult], None]


def encode_content(content: FileContent) -> Dict[str, str]:
    """Text as UTF-8, anything else as base64: the way the API takes a file's content."""
    if isinstance(content, str):
        return {"content": content}
    if isinstance(content, (bytes, bytearray, memoryview)):
        return {"content": base64.b64encode(bytes(content)).decode("ascii"), "encoding": "base64"}
    raise ExecutorError(None, INVALID_ARGUMENT, f"file content must be str or bytes, not {type(content).__name__}")


def encode_files(files: Optional[FilesArg]) -> List[Dict[str, str]]:
    """``{"path": content}``, ``[("path", content)]`` or ``[{"path": …, "content": …}]`` as the API's list."""
    if files is None:
        return []
    pairs: List[Tuple[Any, Any]] = []
    if isinstance(files, Mapping):
        pairs = list(files.items())
    else:
        for item in files:
            if isinstance(item, Mapping):
                pairs.append((item.get("path"), item.get("content")))
            elif isinstance(item, tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise ExecutorError(None, INVALID_ARGUMENT, "files must be a mapping, (path, content) pairs or dicts")
    out = []
    for path, content in pairs:
        if not isinstance(path, str) or not path:
            raise ExecutorError(None, INVALID_ARGUMENT, "every file needs a path (a non-empty string)")
        out.append({"path": path, **encode_content(content)})
    return out


@dataclass(frozen=True)
class RunArgs:
    """A run's arguments as every public run method takes them, handed down as one value."""

    code: str
    language: Optional[str] = None
    timeout: Optional[float] = None
    files: Optional[FilesArg] = None
    on_stdout: Optional[OutputCallback] = None
    on_stderr: Optional[OutputCallback] = None
    on_result: Optional[ResultCallback] = None


# Answers to a destroy that mean the session is gone already.
_GONE = frozenset({"SESSION_NOT_FOUND", "SESSION_EXPIRED", "SESSION_DESTROYED", "SESSION_LOST"})


def _frame_text(frame: Mapping[str, Any]) -> str:
    text = frame.get("text", "")
    return text if isinstance(text, str) else ""


class Api:
    """The HTTP API, one method per endpoint, answers parsed into models."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _tenant(self) -> Dict[str, str]:
        return {"tenant_id": self.client.tenant} if self.client.tenant else {}

    # -- runs --------------------------------------------------------------------------------

    def run(self, path: str, body: Dict[str, Any], args: RunArgs) -> ExecutionResult:
        """A run; streamed (NDJSON) when any callback is given, one JSON reply otherwise."""
        wait = self.client.run_timeout(args.timeout)
        on_stdout, on_stderr, on_result = args.on_stdout, args.on_stderr, args.on_result
        if not (on_stdout or on_stderr or on_result):
            return ExecutionResult.parse(self.client.json("POST", path, body, timeout=wait))

        def on_frame(frame: Dict[str, Any]) -> Optional[Dict[str, Any]]:
            kind = frame.get("type")
            if kind == "stdout" and on_stdout:
                on_stdout(_frame_text(frame))
            elif kind == "stderr" and on_stderr:
                on_stderr(_frame_text(frame))
            elif kind == "result" and on_result:
                on_result(RichResult.parse({"data": frame.get("data", {}), "is_main_result": frame.get("is_main_result", False)}))
            elif kind == "done":
                result = frame.get("result")
                if not isinstance(result, dict):
                    raise ExecutorError(None, BAD_RESPONSE, "the stream's last frame has no result")
                return result
            elif kind == "error":
                err = frame.get("error")
                err = err if isinstance(err, dict) else {}
                code = err.get("code")
                message = err.get("message")
                raise ExecutorError(
                    None,
                    code[:100] if isinstance(code, str) else "INTERNAL_ERROR",
                    message[:2000] if isinstance(message, str) else "the run failed",
                )
            return None  # keepalive and frames of kinds this SDK does not know

        return ExecutionResult.parse(self.client.stream(path, body, on_frame, timeout=wait))

    @staticmethod
    def run_body(args: RunArgs) -> Dict[str, Any]:
        if not isinstance(args.code, str):
            raise ExecutorError(None, INVALID_ARGUMENT, "code must be a string")
        body: Dict[str, Any] = {"code": args.code}
        if args.language:
            body["language"] = args.language
        if args.timeout is not None:
            body["timeout"] = args.timeout
        encoded = encode_files(args.files)
        if encoded:
            body["files"] = encoded
        return body

    def execute(
        self, args: RunArgs, template: Optional[str] = None, env: Optional[Mapping[str, str]] = None
    ) -> ExecutionResult:
        body: Dict[str, Any] = {**self._tenant(), **self.run_body(args)}
        if template:
            body["template"] = template
        if env:
            body["env"] = dict(env)
        return self.run("/execute", body, args)

    # -- sessions ----------------------------------------------------------------------------

    def create_session(
        self,
        template: Optional[str] = None,
        ttl: Optional[int] = None,
        scope: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, Any]:
        """A new session (or, with ``scope``, the tenant's live one of that scope and template)."""
        body: Dict[str, Any] = {
            **self._tenant(),
            "scope": scope or f"sdk-py-{uuid.uuid4().hex[:12]}",
            "reuse": scope is not None,
        }
        if template:
            body["template"] = template
        if ttl is not None:
            body["ttl"] = ttl
        if metadata:
            body["metadata"] = dict(metadata)
        reply = self.client.json("POST", "/session/create", body, timeout=self.client.request_timeout + 90)
        if not isinstance(reply.get("session_id"), str):
            raise ExecutorError(None, BAD_RESPONSE, "the server's reply has no session_id")
        return reply

    def session_execute(self, session_id: str, args: RunArgs) -> ExecutionResult:
        return self.run("/session/execute", {**self._ref(session_id), **self.run_body(args)}, args)

    def destroy_session(self, session_id: str, gone_ok: bool = False) -> None:
        """Ends the session; with ``gone_ok`` one that is gone already (expired, lost…) is no error."""
        try:
            self.client.json("POST", "/session/destroy", self._ref(session_id), idempotent=True)
        except ExecutorError as e:
            if not (gone_ok and e.code in _GONE):
                raise

    def get_session(self, session_id: str) -> SessionInfo:
        reply = self.client.json("GET", f"/session/{quote(session_id, safe='')}", query=self._tenant(), idempotent=True)
        return SessionInfo.parse(reply.get("session"))

    def list_sessions(self) -> List[SessionInfo]:
        reply = self.client.json("GET", "/sessions", query=self._tenant(), idempotent=True)
        sessions = reply.get("sessions")
        if not isinstance(sessions, list):
            raise ExecutorError(None, BAD_RESPONSE, "the server's reply has no sessions list")
        return [SessionInfo.parse(s) for s in sessions]

    def _ref(self, session_id: str) -> Dict[str, str]:
        return {"session_id": session_id, **self._tenant()}

    # -- session files -----------------------------------------------------------------------

    def upload_file(self, session_id: str, path: str, content: Union[FileContent, Path]) -> int:
        data = content.read_bytes() if isinstance(content, Path) else content
        body = {**self._ref(session_id), "path": path, **encode_content(data)}
        reply = self.client.json("POST", "/session/files/upload", body, idempotent=True)
        size = reply.get("size")
        return size if isinstance(size, int) and not isinstance(size, bool) else 0

    def download_file(self, session_id: str, path: str, destination: Optional[Union[str, Path]] = None) -> bytes:
        data = self.client.raw("/session/files/download", {**self._ref(session_id), "path": path})
        if destination is not None:
            Path(destination).write_bytes(data)
        return data

    def list_files(self, session_id: str, path: str = "") -> List[FileEntry]:
        reply = self.client.json(
            "GET", "/session/files/list", query={**self._ref(session_id), "path": path}, idempotent=True
        )
        entries = reply.get("entries")
        if not isinstance(entries, list):
            raise ExecutorError(None, BAD_RESPONSE, "the server's reply has no entries list")
        return [FileEntry.parse(e) for e in entries]

    def delete_file(self, session_id: str, path: str) -> None:
        self.client.json("POST", "/session/files/delete", {**self._ref(session_id), "path": path}, idempotent=True)

    def make_dir(self, session_id: str, path: str) -> None:
        self.client.json("POST", "/session/files/mkdir", {**self._ref(session_id), "path": path}, idempotent=True)

    # -- templates and metrics ---------------------------------------------------------------

    def list_templates(self) -> List[TemplateInfo]:
        reply = self.client.json("GET", "/templates", idempotent=True)
        templates = reply.get("templates")
        if not isinstance(templates, list):
            raise ExecutorError(None, BAD_RESPONSE, "the server's reply has no templates list")
        return [TemplateInfo.parse(t) for t in templates]

    def get_template(self, name: str) -> TemplateInfo:
        return TemplateInfo.parse(self.client.json("GET", f"/templates/{quote(name, safe='')}", idempotent=True).get("template"))

    def register_template(self, definition: Mapping[str, Any]) -> TemplateInfo:
        return TemplateInfo.parse(self.client.json("POST", "/templates", definition).get("template"))

    def remove_template(self, name: str) -> None:
        self.client.json("DELETE", f"/templates/{quote(name, safe='')}", idempotent=True)

    def metrics(self) -> Dict[str, Any]:
        reply = self.client.json("GET", "/metrics", idempotent=True)
        metrics = reply.get("metrics")
        if not isinstance(metrics, dict):
            raise ExecutorError(None, BAD_RESPONSE, "the server's reply has no metrics object")
        return metrics


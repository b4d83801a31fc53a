"""What Executor answers, parsed and checked: a reply of the wrong shape is an ExecutorError, never a crash."""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from .errors import BAD_RESPONSE, ExecutorError

__all__ = [
    "Artifact",
    "ExecutionError",
    "ExecutionResult",
    "FileEntry",
    "RichResult",
    "SessionInfo",
    "TemplateInfo",
]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _bad(what: str) -> ExecutorError:
    return ExecutorError(None, BAD_RESPONSE, f"the server's reply is malformed: {what}")


def _typed(d: Mapping[str, Any], key: str, kinds: Tuple[type, ...], what: str) -> Any:
    """``d[key]`` if it is one of ``kinds`` (a bool is never a number), None when absent or null."""
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
        raise _bad(f"{key} is not {what}")
    return v


def _required_str(d: Mapping[str, Any], key: str, what: str) -> str:
    """``d[key]``, which must be a string: the field that says what the reply is."""
    v = d.get(key)
    if not isinstance(v, str):
        raise _bad(f"{what} has no {key}")
    return v


def _str(d: Mapping[str, Any], key: str, default: str = "") -> str:
    v: Optional[str] = _typed(d, key, (str,), "a string")
    return default if v is None else v


def _opt_str(d: Mapping[str, Any], key: str) -> Optional[str]:
    v: Optional[str] = _typed(d, key, (str,), "a string")
    return v


def _bool(d: Mapping[str, Any], key: str, default: bool = False) -> bool:
    v: Optional[bool] = _typed(d, key, (bool,), "a boolean")
    return default if v is None else v


def _num(d: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    v: Optional[float] = _typed(d, key, (int, float), "a number")
    return default if v is None else float(v)


def _opt_int(d: Mapping[str, Any], key: str) -> Optional[int]:
    v: Optional[int] = _typed(d, key, (int,), "an integer")
    return v


def _list(d: Mapping[str, Any], key: str) -> List[Any]:
    v: Optional[List[Any]] = _typed(d, key, (list,), "a list")
    return [] if v is None else v


def _dict(v: Any, what: str) -> Dict[str, Any]:
    if not isinstance(v, dict):
        raise _bad(f"{what} is not an object")
    return v


def _str_list(d: Mapping[str, Any], key: str) -> List[str]:
    items = _list(d, key)
    if not all(isinstance(i, str) for i in items):
        raise _bad(f"{key} holds something other than strings")
    return list(items)


# How a field is read from a reply, by its annotation as the dataclass spells it.
_READERS: Dict[str, Callable[[Mapping[str, Any], str], Any]] = {
    "str": _str,
    "Optional[str]": _opt_str,
    "bool": _bool,
    "float": _num,
    "Optional[int]": _opt_int,
    "List[str]": _str_list,
}


def _fields(cls: type, d: Mapping[str, Any], **read: Callable[[], Any]) -> Dict[str, Any]:
    """The arguments of the dataclass ``cls`` from the reply ``d``, each field under its own name and
    in its declared order: by ``read[name]`` where given, else by the reader of its annotation."""
    return {f.name: read[f.name]() if f.name in read else _READERS[str(f.type)](d, f.name) for f in fields(cls)}


@dataclass
class Artifact:
    """A figure, a rich result or a file the code wrote under ``/workspace/outputs/``."""

    name: str
    type: str
    content: bytes = field(repr=False)
    size: int

    @classmethod
    def parse(cls, raw: Any) -> "Artifact":
        d = _dict(raw, "an artifact")
        encoding = _str(d, "encoding", "utf8")
        text = _str(d, "content")
        if encoding == "base64":
            try:
                content = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise _bad("an artifact's content is not base64") from None
        elif encoding in ("utf8", "utf-8"):
            content = text.encode("utf-8")
        else:
            raise _bad(f"an artifact has the unknown encoding {encoding[:20]!r}")
        size = _opt_int(d, "size")
        return cls(
            name=_str(d, "name"), type=_str(d, "type"), content=content, size=len(content) if size is None else size
        )

    @property
    def text(self) -> str:
        """The content as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def save(self, path: Union[str, "os.PathLike[str]"]) -> Path:
        """Writes the content to ``path``; into a directory it goes under the artifact's own name.

        The name comes from the sandbox, so only its last part is used, with unsafe characters
        replaced: it can never point outside the directory given.
        """
        target = Path(path)
        if target.is_dir():
            base = _SAFE_NAME.sub("_", self.name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
            target = target / (base or "artifact")
        target.write_bytes(self.content)
        return target


@dataclass
class RichResult:
    """A Jupyter-style MIME bundle: the last expression's value, a ``display()``, a figure."""

    data: Dict[str, Any] = field(repr=False)
    is_main_result: bool = False

    def __repr__(self) -> str:
        return f"RichResult(formats={sorted(self.data)!r}, is_main_result={self.is_main_result!r})"

    @classmethod
    def parse(cls, raw: Any) -> "RichResult":
        d = _dict(raw, "a result")
        return cls(data=_dict(d.get("data", {}), "a result's data"), is_main_result=_bool(d, "is_main_result"))

    @property
    def text(self) -> Optional[str]:
        v = self.data.get("text/plain")
        return v if isinstance(v, str) else None

    @property
    def png(self) -> Optional[bytes]:
        """The PNG bytes of a figure, if the bundle has one."""
        v = self.data.get("image/png")
        if not isinstance(v, str):
            return None
        try:
            return base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("a result's image/png is not base64") from None


@dataclass
class ExecutionError:
    """The exception the code raised: its class name, its message and the traceback."""

    name: str
    value: str
    traceback: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Optional["ExecutionError"]:
        if raw is None:
            return None
        return cls(**_fields(cls, _dict(raw, "error")))


@dataclass
class ExecutionResult:
    """What a run did. ``status`` is success, error, timeout, oom or sandbox_died."""

    status: str
    stdout: str
    stderr: str
    exit_code: Optional[int]
    execution_time: float
    results: List[RichResult] = field(default_factory=list)
    artifacts: List[Artifact] = field(default_factory=list)
    error: Optional[ExecutionError] = None
    timed_out: bool = False
    oom_killed: bool = False
    truncated: bool = False
    execution_id: str = ""
    template: str = ""
    language: str = ""
    session_id: Optional[str] = None
    state_lost: bool = False

    @classmethod
    def parse(cls, raw: Any) -> "ExecutionResult":
        d = _dict(raw, "the result")
        return cls(
            **_fields(
                cls,
                d,
                status=lambda: _required_str(d, "status", "the result"),
                results=lambda: [RichResult.parse(r) for r in _list(d, "results")],
                artifacts=lambda: [Artifact.parse(a) for a in _list(d, "artifacts")],
                error=lambda: ExecutionError.parse(d.get("error")),
            )
        )

    @property
    def success(self) -> bool:
        return self.status == "success"

    @property
    def text(self) -> Optional[str]:
        """The text of the main result (the last expression's value), as a notebook shows it."""
        for r in self.results:
            if r.is_main_result:
                return r.text
        return None


@dataclass
class FileEntry:
    """One entry of a session's ``/workspace``."""

    name: str
    path: str
    type: str
    size: int
    modified: str

    @classmethod
    def parse(cls, raw: Any) -> "FileEntry":
        d = _dict(raw, "a file entry")
        size = _opt_int(d, "size")
        return cls(
            name=_str(d, "name"),
            path=_str(d, "path"),
            type=_str(d, "type"),
            size=0 if size is None else size,
            modified=_str(d, "modified"),
        )


@dataclass
class SessionInfo:
    """A session as ``GET /sessions`` lists it (``state``: active, expired, destroyed, lost);
    ``raw`` keeps every field the server sent."""

    session_id: str
    template: str
    state: str
    expires_at: Optional[str]
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def parse(cls, raw: Any) -> "SessionInfo":
        d = _dict(raw, "a session")
        return cls(**_fields(cls, d, session_id=lambda: _required_str(d, "session_id", "a session"), raw=lambda: d))


@dataclass
class TemplateInfo:
    """A template as the server describes it, with the status of its image."""

    name: str
    description: str
    languages: List[str]
    memory_limit: str
    cpu_limit: float
    timeout: float
    network: bool
    builtin: bool
    image_status: str
    image: str = ""
    packages: Dict[str, List[str]] = field(default_factory=dict)
    packages_missing: List[str] = field(default_factory=list)
    build_error: Optional[str] = None
    build_log: List[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> "TemplateInfo":
        d = _dict(raw, "a template")
        name = _required_str(d, "name", "a template")
        packages_raw = _dict(d.get("packages") or {}, "packages")
        packages: Dict[str, List[str]] = {}
        for kind in packages_raw:
            packages[str(kind)] = _str_list(packages_raw, kind)
        return cls(
            **_fields(
                cls,
                d,
                name=lambda: name,
                image_status=lambda: _str(d, "image_status", "unknown"),
                packages=lambda: packages,
            )
        )

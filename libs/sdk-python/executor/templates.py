"""``SandboxTemplate`` and ``template_manager``: custom templates as the original executor spelled them,
mapped onto ``POST /templates`` (a built-in base, Debian/pip/npm package lists, limits)."""

from __future__ import annotations

import atexit
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._api import Api
from ._http import Client
from .errors import INVALID_ARGUMENT, REQUEST_TIMEOUT, ExecutorError, TemplateBuildError
from .models import TemplateInfo

__all__ = [
    "SandboxTemplate",
    "TemplateManager",
    "base_template_of",
    "cpu_limit_of",
    "debian_package_of",
    "memory_limit_of",
    "package_lists_of",
    "template_manager",
]

CFS_PERIOD_US = 100_000
# The original executor's sandbox image; its counterpart here is the `default` template.
ORIGINAL_IMAGE = "executor-sandbox"
# Python distributions whose Debian package is named after something else (usually the module).
DEBIAN_NAMES = {
    "pillow": "pil",
    "scikit-learn": "sklearn",
    "sklearn": "sklearn",
    "beautifulsoup4": "bs4",
    "pyyaml": "yaml",
    "opencv-python": "opencv",
    "opencv-python-headless": "opencv",
    "python-dateutil": "dateutil",
    "pytorch": "torch",
    "attrs": "attr",
    "pyzmq": "zmq",
    "pyserial": "serial",
    "pycryptodome": "pycryptodome",
    "msgpack-python": "msgpack",
    "protobuf": "protobuf",
}
_APT_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]{0,99}$")
_PY_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_MEMORY = re.compile(r"^(\d{1,13})\s*([kmg]?)(?:i?b)?$")
_KINDS = ("apt", "pip", "npm")

PackagesArg = Union[Sequence[str], Mapping[str, Sequence[str]]]


def _invalid(message: str) -> ExecutorError:
    return ExecutorError(None, INVALID_ARGUMENT, message)


def base_template_of(base_image: str, builtins: Iterable[str]) -> str:
    """The built-in template a ``base_image`` names.

    Accepted: ``executor-sandbox[:latest]`` (the original's image: ``default``), a built-in
    template's name (``python-data``), or its image ``executor/<name>[:latest]``.
    """
    names = sorted(builtins)
    image = base_image.strip().lower() if isinstance(base_image, str) else ""
    repo, _, tag = image.partition(":")
    if repo.startswith("executor/"):
        repo = repo[len("executor/") :]
    if repo == ORIGINAL_IMAGE:
        repo = "default"
    if tag in ("", "latest") and repo in names:
        return repo
    raise _invalid(
        f"base_image: {str(base_image)[:100]!r} is not a base this server has; accepted: "
        f"{ORIGINAL_IMAGE}[:latest] (the default template), a built-in template's name or its image "
        f"executor/<name>[:latest], with <name> one of {', '.join(names)}"
    )


def debian_package_of(name: str) -> str:
    """The Debian package of a Python distribution: ``pillow`` is ``python3-pil``, ``numpy`` ``python3-numpy``."""
    if not isinstance(name, str) or not _PY_NAME.match(name.strip()):
        raise _invalid(
            f"packages: {str(name)[:100]!r} is not a package name; Debian packages cannot be pinned to a "
            "version: pass {'pip': ['name==1.2']} where a Python index answers"
        )
    normal = re.sub(r"[-_.]+", "-", name.strip().lower())
    return "python3-" + DEBIAN_NAMES.get(normal, normal)


def package_lists_of(packages: Optional[PackagesArg], languages: Sequence[str]) -> Dict[str, List[str]]:
    """The API's ``{apt, pip, npm}`` lists.

    A mapping is taken as those lists. A list of names is read in the base template's language:
    Python distributions become their Debian packages (``debian_package_of``), names on a
    Node.js base npm packages; ``apt:``, ``pip:`` or ``npm:`` before a name says which it is.
    """
    out: Dict[str, List[str]] = {kind: [] for kind in _KINDS}
    if packages is None:
        return {}
    if isinstance(packages, str):
        raise _invalid("packages must be a list of names (or a mapping of apt/pip/npm lists), not one string")
    if isinstance(packages, Mapping):
        for kind, names in packages.items():
            if kind not in _KINDS:
                raise _invalid(f"packages: {str(kind)[:20]!r} is not one of apt, pip, npm")
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                raise _invalid(f"packages.{kind} must be a list of names")
            out[kind].extend(names)
    else:
        python = "python" in languages
        for item in packages:
            if not isinstance(item, str):
                raise _invalid("packages must hold names (strings)")
            kind, sep, rest = item.partition(":")
            if sep and kind in _KINDS:
                out[kind].append(rest)
            elif python:
                out["apt"].append(debian_package_of(item))
            elif "javascript" in languages:
                out["npm"].append(item)
            else:
                raise _invalid(f"packages: say apt:, pip: or npm: before {item[:100]!r} on this base")
    for name in out["apt"]:
        if not _APT_NAME.match(name):
            raise _invalid(f"packages: {name[:100]!r} is not a Debian package name")
    return {kind: names for kind, names in out.items() if names}


def cpu_limit_of(cpu_quota: int) -> float:
    """CPUs from a CFS quota in microseconds per 100 ms period: 400000 is 4 CPUs."""
    if isinstance(cpu_quota, bool) or not isinstance(cpu_quota, int) or cpu_quota <= 0:
        raise _invalid("cpu_quota must be a positive whole number of microseconds per 100 ms period")
    return round(cpu_quota / CFS_PERIOD_US, 3)


def memory_limit_of(memory_limit: Union[str, int]) -> str:
    """A Docker memory size (``4g``, ``512m``, ``4GiB``, or bytes) as the API takes it (``4g``, ``512m``)."""
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, str)):
        raise _invalid("memory_limit must look like 512m or 4g")
    if isinstance(memory_limit, int):
        size = memory_limit
    else:
        m = _MEMORY.match(memory_limit.strip().lower())
        if not m:
            raise _invalid(f"memory_limit: {memory_limit[:40]!r} must look like 512m or 4g")
        size = int(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)]
    mib = -(-size // 2**20)
    text = f"{mib // 1024}g" if mib % 1024 == 0 else f"{mib}m"
    if mib < 1 or len(text) > 6:
        raise _invalid(f"memory_limit: {str(memory_limit)[:40]!r} is out of range")
    return text


@dataclass
class SandboxTemplate:
    """A custom template: a base, packages on top, limits.

    ``base_image`` names a built-in template (see ``base_template_of``); ``packages`` are Python
    distributions on a Python base (installed from Debian), npm names on a Node.js base, or a
    mapping ``{"apt": […], "pip": […], "npm": […]}``; ``memory_limit`` is a Docker size;
    ``cpu_quota`` is in CFS microseconds per 100 ms period (400000 = 4 CPUs); ``timeout`` is
    the default run timeout in seconds.
    """

    name: str
    description: str = ""
    base_image: str = f"{ORIGINAL_IMAGE}:latest"
    packages: PackagesArg = field(default_factory=lambda: [])
    memory_limit: Optional[Union[str, int]] = None
    cpu_quota: Optional[int] = None
    timeout: Optional[int] = None
    network: bool = False
    env: Dict[str, str] = field(default_factory=dict)
    setup_commands: List[str] = field(default_factory=list)

    def to_definition(self, builtins: Mapping[str, TemplateInfo]) -> Dict[str, Any]:
        """The ``POST /templates`` body, given the server's built-in templates by name."""
        base = base_template_of(self.base_image, builtins.keys())
        definition: Dict[str, Any] = {"name": self.name, "base": base}
        if self.description:
            definition["description"] = self.description
        packages = package_lists_of(self.packages, builtins[base].languages)
        if packages:
            definition["packages"] = packages
        if self.memory_limit is not None:
            definition["memory_limit"] = memory_limit_of(self.memory_limit)
        if self.cpu_quota is not None:
            definition["cpu_limit"] = cpu_limit_of(self.cpu_quota)
        if self.timeout is not None:
            definition["timeout"] = self.timeout
        if self.network:
            definition["network"] = True
        if self.env:
            definition["env"] = dict(self.env)
        if self.setup_commands:
            definition["setup_commands"] = list(self.setup_commands)
        return definition


class TemplateManager:
    """Registers, lists, describes and removes templates on the server.

    The module-level ``template_manager`` reads ``EXECUTOR_URL`` and the other settings when it
    is first used; ``TemplateManager(url=…)`` or ``TemplateManager(client=…)`` points elsewhere.
    """

    def __init__(self, client: Optional[Client] = None, **options: Any) -> None:
        if client is not None and options:
            raise _invalid("give either client= or connection options, not both")
        self._given = client
        self._options = options
        self._api: Optional[Api] = None
        self._temporary: List[str] = []

    def _server(self) -> Api:
        if self._api is None:
            self._api = Api(self._given or Client(**self._options))
        return self._api

    def register_template(
        self,
        template: SandboxTemplate,
        persist: bool = True,
        wait: bool = True,
        replace: bool = False,
        build_timeout: float = 900.0,
    ) -> TemplateInfo:
        """Registers ``template`` and, with ``wait``, returns once its image is built.

        ``persist=True`` keeps it on the server (in its event log) until ``remove_template``;
        ``persist=False`` removes it again when this Python process exits. ``replace`` removes a
        custom template of the same name first. A failed build raises ``TemplateBuildError``
        with the end of the build log (a package Debian does not have, for one).
        """
        api = self._server()
        builtins = {t.name: t for t in api.list_templates() if t.builtin}
        definition = template.to_definition(builtins)
        if replace:
            try:
                api.remove_template(template.name)
            except ExecutorError as e:
                if e.code != "NOT_FOUND":
                    raise
        info = api.register_template(definition)
        if not persist:
            if not self._temporary:
                atexit.register(self._remove_temporary)
            self._temporary.append(info.name)
        return self.wait_until_ready(info.name, build_timeout) if wait else info

    def wait_until_ready(self, name: str, timeout: float = 900.0) -> TemplateInfo:
        """Waits for the template's image; raises ``TemplateBuildError`` when its build failed."""
        deadline = time.monotonic() + timeout
        delay = 0.5
        while True:
            info = self._server().get_template(name)
            if info.image_status == "ready":
                return info
            if info.image_status == "failed":
                raise TemplateBuildError(name, info.build_error or "the image failed to build", info.build_log)
            if time.monotonic() > deadline:
                raise ExecutorError(None, REQUEST_TIMEOUT, f"template {name}: its image is not built after {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)

    def list_templates(self) -> List[TemplateInfo]:
        return self._server().list_templates()

    def get_template(self, name: str) -> TemplateInfo:
        """The template ``name``; raises ExecutorError NOT_FOUND (404) when there is none."""
        return self._server().get_template(name)

    def remove_template(self, name: str) -> None:
        """Removes a custom template (built-ins cannot be removed: BUILTIN_TEMPLATE)."""
        self._server().remove_template(name)
        if name in self._temporary:
            self._temporary.remove(name)

    def _remove_temporary(self) -> None:
        for name in list(self._temporary):
            try:
                self.remove_template(name)
            except ExecutorError:
                pass


template_manager = TemplateManager()

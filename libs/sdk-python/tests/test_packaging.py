"""The stdlib build backend (_build/backend.py) makes a wheel pip can install: files, metadata, RECORD."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

from executor import __version__

SDK = Path(__file__).resolve().parent.parent
DIST = f"executor_sdk-{__version__}"


def backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location("executor_build_backend", SDK / "_build" / "backend.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wheel_holds_the_package_its_metadata_and_a_true_record(tmp_path: Path) -> None:
    b = backend()
    assert b.get_requires_for_build_wheel() == []
    name = b.build_wheel(str(tmp_path))
    assert name == f"{DIST}-py3-none-any.whl"
    with zipfile.ZipFile(tmp_path / name) as whl:
        names = set(whl.namelist())
        assert {"executor/__init__.py", "executor/py.typed", "executor/templates.py"} <= names
        assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
        metadata = whl.read(f"{DIST}.dist-info/METADATA").decode()
        assert "Name: executor-sdk" in metadata and "Requires-Python: >=3.9" in metadata
        record = whl.read(f"{DIST}.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                continue
            data = whl.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(data)
        assert len(record) == len(names)
        whl.extractall(tmp_path / "site")
    # Imported from the unpacked wheel alone, in a fresh interpreter away from the checkout.
    probe = "import executor, executor.sandbox, executor.templates; print(executor.__file__)"
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); {probe}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(tmp_path / "site" / "executor" / "__init__.py")


def test_the_sdist_holds_what_rebuilding_needs(tmp_path: Path) -> None:
    name = backend().build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as sdist:
        names = set(sdist.getnames())
    root = DIST
    assert {f"{root}/pyproject.toml", f"{root}/_build/backend.py", f"{root}/executor/_http.py"} <= names

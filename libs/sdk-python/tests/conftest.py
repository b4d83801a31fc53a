"""Integration tests run against the stack EXECUTOR_URL points at (the e2e harness starts one)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

# Runs from a checkout without installing: `python3 -m pytest libs/sdk-python/tests`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from executor import Client, CodeSandbox  # noqa: E402


@pytest.fixture(scope="session")
def url() -> str:
    value = os.environ.get("EXECUTOR_URL")
    if not value:
        pytest.skip("EXECUTOR_URL is not set: no stack to test against")
    return value


@pytest.fixture(scope="session")
def client(url: str) -> Client:
    # A tenant of its own, so the sessions of this run are the only ones it sees.
    return Client(url=url, tenant=f"pysdk-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def data_sandbox(client: Client) -> Iterator[CodeSandbox]:
    """One python-data sandbox shared by a module's tests (a session start costs seconds)."""
    with CodeSandbox(template="python-data", ttl=120, client=client) as sandbox:
        yield sandbox

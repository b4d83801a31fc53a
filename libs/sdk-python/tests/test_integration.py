"""The SDK against a real stack: real API, NATS, runner and Docker sandboxes."""

from __future__ import annotations

import json
import os
import struct
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest

from executor import Client, CodeInterpreter, CodeSandbox, ExecutorError, SessionManager, TemplateBuildError
from executor.templates import SandboxTemplate, TemplateManager

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple:
    """Width and height from a PNG's IHDR chunk: proves the bytes are a real PNG, not just a prefix."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_one_off_run_prints_and_exits(client: Client) -> None:
    interpreter = CodeInterpreter(template="default", client=client)
    r = interpreter.run("import sys\nprint(6 * 7)\nprint('warn', file=sys.stderr)")
    assert (r.status, r.stdout, r.stderr, r.exit_code) == ("success", "42\n", "warn\n", 0)
    assert r.execution_time > 0 and r.session_id is None
    bash = interpreter.run("echo $((6 * 7))", language="bash")
    assert bash.stdout == "42\n"
    failed = interpreter.run("1 / 0")
    assert failed.status == "error" and failed.error is not None and failed.error.name == "ZeroDivisionError"


def test_a_timed_out_run_comes_back_flagged(client: Client) -> None:
    started = time.monotonic()
    r = CodeInterpreter(template="default", client=client).run("import time\ntime.sleep(30)", timeout=1)
    assert r.timed_out and r.status == "timeout"
    assert time.monotonic() - started < 15


def test_a_sandbox_keeps_state_between_runs(data_sandbox: CodeSandbox) -> None:
    interpreter = CodeInterpreter(data_sandbox)
    interpreter.run("x = 41\nimport pandas as pd")
    r = interpreter.run("x + 1")
    assert r.text == "42" and r.session_id == data_sandbox.session_id
    assert interpreter.run("pd.DataFrame({'a': [1, 2, 3]}).a.sum()").text == "6"


def test_a_plot_comes_back_as_real_png_bytes(data_sandbox: CodeSandbox, tmp_path: Path) -> None:
    r = CodeInterpreter(data_sandbox).run(
        "import matplotlib.pyplot as plt\nimport numpy as np\n"
        "x = np.linspace(0, 10, 100)\nplt.plot(x, np.sin(x))\nplt.show()"
    )
    pngs = [a for a in r.artifacts if a.type == "image/png"]
    assert len(pngs) == 1
    width, height = png_size(pngs[0].content)
    assert width > 100 and height > 100 and pngs[0].size == len(pngs[0].content)
    saved = pngs[0].save(tmp_path)
    assert saved.parent == tmp_path and saved.read_bytes() == pngs[0].content
    assert r.results and r.results[0].png == pngs[0].content


def test_output_is_streamed_as_it_happens(data_sandbox: CodeSandbox) -> None:
    chunks: List[tuple] = []
    results: List[str] = []
    started = time.monotonic()
    r = CodeInterpreter(data_sandbox).run(
        "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.4)\n'done'",
        on_stdout=lambda t: chunks.append((time.monotonic() - started, t)),
        on_result=lambda res: results.append(res.text or ""),
    )
    total = time.monotonic() - started
    assert "".join(t for _, t in chunks) == "0\n1\n2\n" == r.stdout
    assert chunks[0][0] < total - 0.6  # the first line came while the run was still going
    assert results == ["'done'"] and r.text == "'done'"


def test_files_go_both_ways(data_sandbox: CodeSandbox, tmp_path: Path) -> None:
    blob = bytes(range(256))
    assert data_sandbox.upload_file("blob.dat", blob) == 256
    local = tmp_path / "prices.csv"
    local.write_text("item,price\napple,1.5\npear,3\n")
    data_sandbox.upload_file("data/prices.csv", local)
    r = data_sandbox.run(
        "import json, os, pandas as pd\n"
        "b = open('blob.dat', 'rb').read()\n"
        "df = pd.read_csv('data/prices.csv')\n"
        "os.makedirs('outputs', exist_ok=True)\n"
        "json.dump({'bytes': len(b), 'sum': sum(b), 'total': float(df.price.sum())}, open('outputs/report.json', 'w'))",
        files={"note.txt": "from the run"},
    )
    assert r.status == "success", r.error
    report = {"bytes": 256, "sum": sum(range(256)), "total": 4.5}
    assert json.loads(data_sandbox.download_file("outputs/report.json")) == report
    assert [a for a in r.artifacts if a.name.endswith("report.json")][0].content == data_sandbox.download_file(
        "outputs/report.json"
    )
    assert data_sandbox.download_file("blob.dat", tmp_path / "blob.dat") == blob
    assert (tmp_path / "blob.dat").read_bytes() == blob
    names = {e.name for e in data_sandbox.list_files()}
    assert {"blob.dat", "note.txt", "data", "outputs"} <= names
    data_sandbox.delete_file("blob.dat")
    assert "blob.dat" not in {e.name for e in data_sandbox.list_files()}
    with pytest.raises(ExecutorError) as e:
        data_sandbox.download_file("blob.dat")
    assert (e.value.status, e.value.code) == (404, "FILE_NOT_FOUND")
    with pytest.raises(ExecutorError) as e:
        data_sandbox.upload_file("../escape.txt", "x")
    assert e.value.status == 400


def test_the_session_manager_tracks_and_closes_its_sessions(client: Client) -> None:
    with SessionManager(client=client) as manager:
        first = manager.create_session(template="default", ttl=60)
        second = manager.create_session(template="default", ttl=60)
        manager.execute_in_session(first, "counter = 1")
        assert manager.execute_in_session(first, "counter += 1\nprint(counter)").stdout == "2\n"
        live = {s.session_id: s.state for s in manager.list_sessions()}
        assert live[first] == "active" and live[second] == "active"
        manager.destroy_session(second)
        with pytest.raises(ExecutorError) as e:
            manager.execute_in_session(second, "1")
        assert (e.value.status, e.value.code) == (410, "SESSION_DESTROYED")
        metrics = manager.metrics()
        assert metrics["sessions_created"] >= 2 and "active_sessions" in metrics
    # Leaving the block destroyed the session still open.
    assert manager.get_session(first).state == "destroyed"


def test_an_unknown_session_raises_with_its_code(client: Client) -> None:
    with pytest.raises(ExecutorError) as e:
        SessionManager(client=client).execute_in_session(str(uuid.uuid4()), "1")
    assert (e.value.status, e.value.code) == (404, "SESSION_NOT_FOUND")
    with pytest.raises(ExecutorError) as e:
        SessionManager(client=client).execute_in_session("not-a-uuid", "1")
    assert (e.value.status, e.value.code) == (400, "VALIDATION_ERROR")
    with pytest.raises(ExecutorError) as e:
        CodeInterpreter(template="no-such-template", client=client).run("1")
    assert (e.value.status, e.value.code) == (400, "UNKNOWN_TEMPLATE")


def test_a_template_is_registered_used_and_removed(client: Client) -> None:
    manager = TemplateManager(client=client)
    name = f"pysdk-{uuid.uuid4().hex[:8]}"
    # pillow is the Debian package python3-pil: the same set as the README's example, built once.
    template = SandboxTemplate(name=name, base_image="executor-sandbox:latest", packages=["pillow"], memory_limit="256m", cpu_quota=50000, timeout=20)
    info = manager.register_template(template)
    assert (info.image_status, info.memory_limit, info.cpu_limit, info.timeout) == ("ready", "256m", 0.5, 20)
    assert info.packages["apt"] == ["python3-pil"]
    assert name in {t.name for t in manager.list_templates()}
    r = CodeInterpreter(template=name, client=client).run("import PIL\nprint(PIL.__name__)")
    assert r.stdout == "PIL\n"
    with pytest.raises(ExecutorError) as e:
        manager.register_template(template)
    assert (e.value.status, e.value.code) == (409, "TEMPLATE_EXISTS")
    manager.remove_template(name)
    with pytest.raises(ExecutorError) as e:
        manager.get_template(name)
    assert (e.value.status, e.value.code) == (404, "NOT_FOUND")
    with pytest.raises(ExecutorError) as e:
        manager.register_template(SandboxTemplate(name=name, base_image="ubuntu:22.04"))
    assert e.value.code == "INVALID_ARGUMENT" and "executor-sandbox" in e.value.message


def test_a_429_is_retried_after_retry_after() -> None:
    limited = os.environ.get("EXECUTOR_RATE_LIMITED_URL")
    if not limited:
        pytest.skip("EXECUTOR_RATE_LIMITED_URL is not set: no stack with a small rate limit")
    tenant = f"pysdk-rl-{uuid.uuid4().hex[:8]}"
    code = "print('ok')"
    assert CodeInterpreter(template="default", url=limited, tenant=tenant).run(code).stdout == "ok\n"
    with pytest.raises(ExecutorError) as e:
        CodeInterpreter(template="default", url=limited, tenant=tenant, max_retries=0).run(code)
    assert (e.value.status, e.value.code) == (429, "RATE_LIMITED")
    assert e.value.retry_after is not None and e.value.retry_after > 0
    started = time.monotonic()
    assert CodeInterpreter(template="default", url=limited, tenant=tenant).run(code).stdout == "ok\n"
    assert time.monotonic() - started >= 0.5  # it waited for the window, then succeeded


@pytest.fixture(scope="module", autouse=True)
def tensorflow_template(client: Client) -> Iterator[str]:
    """A template Debian cannot build, registered first so its build runs while the other tests do."""
    manager = TemplateManager(client=client)
    name = f"pysdk-tf-{uuid.uuid4().hex[:8]}"
    manager.register_template(SandboxTemplate(name=name, packages=["tensorflow"]), persist=False, wait=False)
    yield name
    try:
        manager.remove_template(name)
    except ExecutorError:
        pass


def test_a_package_debian_lacks_fails_the_build_with_its_log(client: Client, tensorflow_template: str) -> None:
    with pytest.raises(TemplateBuildError) as e:
        TemplateManager(client=client).wait_until_ready(tensorflow_template, timeout=120)
    assert "python3-tensorflow" in "\n".join(e.value.build_log)
    assert "Unable to locate package" in str(e.value)

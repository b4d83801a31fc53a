"""Pure logic: parsing replies (hostile ones too), errors, retry decisions, template mapping, configuration.

The last few talk to throw-away HTTP servers on 127.0.0.1 that misbehave on purpose: how the
client holds up against a server that stalls, floods or sends garbage.
"""

from __future__ import annotations

import base64
import http.server
import socket
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple, Union

import pytest

from executor import Client, ExecutorError, TemplateBuildError, __version__
from executor._api import Api, RunArgs, encode_files
from executor._http import retry_delay
from executor.errors import error_from_body
from executor.models import Artifact, ExecutionResult, TemplateInfo
from executor.templates import (
    SandboxTemplate,
    base_template_of,
    cpu_limit_of,
    debian_package_of,
    memory_limit_of,
    package_lists_of,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
BUILTINS = ["default", "minimal", "node-basic", "python-data"]


def result_body(**overrides: object) -> dict:
    body = {
        "status": "success",
        "exit_code": 0,
        "stdout": "42\n",
        "stderr": "",
        "execution_time": 0.12,
        "results": [{"data": {"text/plain": "42"}, "is_main_result": True}],
        "artifacts": [
            {"type": "image/png", "name": "figure-1.png", "content": base64.b64encode(PNG).decode(), "encoding": "base64", "size": 16}
        ],
        "timed_out": False,
        "oom_killed": False,
        "truncated": False,
        "execution_id": "e1",
        "template": "python-data",
        "language": "python",
    }
    body.update(overrides)
    return body


# -- results --------------------------------------------------------------------------------


def test_a_result_is_parsed_with_artifacts_as_bytes() -> None:
    r = ExecutionResult.parse(result_body())
    assert (r.status, r.stdout, r.exit_code, r.execution_time, r.text) == ("success", "42\n", 0, 0.12, "42")
    assert r.artifacts[0].content == PNG and r.artifacts[0].type == "image/png"
    assert r.error is None and not r.timed_out and r.session_id is None


def test_an_error_result_carries_the_exception() -> None:
    r = ExecutionResult.parse(
        result_body(status="error", exit_code=1, error={"name": "ZeroDivisionError", "value": "division by zero"})
    )
    assert r.error is not None and r.error.name == "ZeroDivisionError" and not r.success


@pytest.mark.parametrize(
    "bad",
    [
        "not an object",
        {"stdout": "no status"},
        result_body(stdout=5),
        result_body(exit_code="0"),
        result_body(timed_out="yes"),
        result_body(results="x"),
        result_body(artifacts=[{"type": "image/png", "name": "a", "content": "@@@", "encoding": "base64"}]),
        result_body(artifacts=[{"type": "x", "name": "a", "content": "", "encoding": "rot13"}]),
        result_body(error="boom"),
    ],
)
def test_a_malformed_result_is_a_coded_error_not_a_crash(bad: object) -> None:
    with pytest.raises(ExecutorError) as e:
        ExecutionResult.parse(bad)
    assert e.value.code == "BAD_RESPONSE"


def test_an_artifact_saved_into_a_directory_cannot_escape_it(tmp_path: Path) -> None:
    inside = tmp_path / "out"
    inside.mkdir()
    art = Artifact(name="../../etc/passwd", type="text/plain", content=b"x", size=1)
    target = art.save(inside)
    assert target.parent == inside and target.name == "passwd" and target.read_bytes() == b"x"
    assert Artifact(name="..", type="t", content=b"y", size=1).save(inside).parent == inside


def test_a_template_reply_is_parsed() -> None:
    t = TemplateInfo.parse(
        {"name": "x", "languages": ["python"], "cpu_limit": 1, "timeout": 30, "builtin": True, "image_status": "ready", "packages": {"apt": ["python3"]}}
    )
    assert t.packages == {"apt": ["python3"]} and t.cpu_limit == 1.0
    with pytest.raises(ExecutorError):
        TemplateInfo.parse({"name": "x", "languages": "python"})


# -- errors and retries ---------------------------------------------------------------------


def test_an_error_body_gives_status_code_message_and_retry_after() -> None:
    body = b'{"status":"error","error":{"code":"RATE_LIMITED","message":"slow down","retry_after":3}}'
    e = error_from_body(429, body, {})
    assert (e.status, e.code, e.message, e.retry_after) == (429, "RATE_LIMITED", "slow down", 3.0)
    assert "RATE_LIMITED" in str(e) and "429" in str(e)


def test_a_body_that_is_not_executors_still_gives_an_error() -> None:
    e = error_from_body(502, b"<html>bad gateway</html>", {"Retry-After": "7"})
    assert (e.status, e.code, e.retry_after) == (502, "HTTP_ERROR", 7.0)
    assert error_from_body(503, b"", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}).retry_after is None
    assert error_from_body(500, b'{"error":{"code":5,"message":[]}}', {}).code == "HTTP_ERROR"


def test_build_errors_drop_terminal_escapes() -> None:
    e = TemplateBuildError("t", "failed", ["\x1b[91mE: Unable to locate package python3-x\x1b[0m"])
    assert e.build_log == ["E: Unable to locate package python3-x"] and "\x1b" not in str(e)


def test_retry_delay_retries_only_what_is_safe() -> None:
    def err(status: int, code: str, after: object = None) -> ExecutorError:
        return ExecutorError(status, code, "m", after)  # type: ignore[arg-type]

    assert retry_delay(err(429, "RATE_LIMITED", 2.0), False, 0, 3, 60) == 2.0
    assert retry_delay(err(503, "IMAGE_NOT_READY", 30.0), False, 0, 3, 60) == 30.0
    assert retry_delay(err(503, "IMAGE_NOT_READY"), True, 0, 3, 60) is None  # its build failed
    assert retry_delay(err(503, "RUNNER_LOST"), False, 0, 3, 60) is None  # the run may have happened
    assert retry_delay(err(503, "RUNNER_LOST"), True, 0, 3, 60) == 0.5  # a GET is safe to resend
    assert retry_delay(err(503, "DEPENDENCY_UNAVAILABLE"), True, 2, 3, 60) == 2.0
    assert retry_delay(err(503, "DEPENDENCY_UNAVAILABLE"), False, 0, 3, 60) is None  # the run may have gone ahead
    assert retry_delay(err(429, "RATE_LIMITED", 2.0), False, 3, 3, 60) is None  # out of attempts
    assert retry_delay(err(429, "RATE_LIMITED", 120.0), False, 0, 3, 60) is None  # too long to wait
    assert retry_delay(err(429, "QUOTA_EXCEEDED", 1.0), True, 0, 3, 60) is None
    assert retry_delay(err(400, "VALIDATION_ERROR"), True, 0, 3, 60) is None


# -- templates ------------------------------------------------------------------------------


def test_base_images_map_to_built_in_templates() -> None:
    assert base_template_of("executor-sandbox:latest", BUILTINS) == "default"
    assert base_template_of("executor-sandbox", BUILTINS) == "default"
    assert base_template_of("executor/python-data:latest", BUILTINS) == "python-data"
    assert base_template_of("node-basic", BUILTINS) == "node-basic"
    for bad in ["ubuntu:22.04", "executor/default:0123abcd", "python-ml", ""]:
        with pytest.raises(ExecutorError) as e:
            base_template_of(bad, BUILTINS)
        assert e.value.code == "INVALID_ARGUMENT"
        assert "executor-sandbox[:latest]" in e.value.message and "python-data" in e.value.message


def test_python_packages_become_debian_packages() -> None:
    assert debian_package_of("Pillow") == "python3-pil"
    assert debian_package_of("scikit_learn") == "python3-sklearn"
    assert debian_package_of("numpy") == "python3-numpy"
    assert package_lists_of(["tensorflow", "keras", "pillow"], ["python", "bash"]) == {
        "apt": ["python3-tensorflow", "python3-keras", "python3-pil"]
    }
    assert package_lists_of(["is-number@7.0.0", "apt:jq"], ["javascript", "bash"]) == {
        "npm": ["is-number@7.0.0"],
        "apt": ["jq"],
    }
    assert package_lists_of({"apt": ["jq"], "pip": ["rich==13.0"]}, ["python"]) == {"apt": ["jq"], "pip": ["rich==13.0"]}
    assert package_lists_of(None, ["python"]) == {}
    for bad in [["numpy==1.26"], ["a b"], "numpy", {"conda": ["x"]}, {"apt": "jq"}, [5], ["apt:Bad!"]]:
        with pytest.raises(ExecutorError):
            package_lists_of(bad, ["python"])  # type: ignore[arg-type]


def test_cpu_quota_and_memory_map_to_the_apis_limits() -> None:
    assert cpu_limit_of(400000) == 4.0 and cpu_limit_of(50000) == 0.5
    sizes: List[Union[str, int]] = ["4g", "512m", "4GiB", "1536MB", 2**30, "1024k"]
    assert [memory_limit_of(v) for v in sizes] == ["4g", "512m", "4g", "1536m", "1g", "1m"]
    for bad_cpu in [0, -1, 1.5, True, "400000"]:
        with pytest.raises(ExecutorError):
            cpu_limit_of(bad_cpu)  # type: ignore[arg-type]
    for bad_mem in ["lots", "4x", "", True, 0, "999999g"]:
        with pytest.raises(ExecutorError):
            memory_limit_of(bad_mem)  # type: ignore[arg-type]


def test_the_documented_template_becomes_a_post_templates_body() -> None:
    builtins = {n: TemplateInfo.parse({"name": n, "languages": ["python", "bash"], "builtin": True}) for n in BUILTINS}
    t = SandboxTemplate(
        name="custom-ml",
        description="Custom ML environment",
        base_image="executor-sandbox:latest",
        packages=["tensorflow", "keras", "pillow"],
        memory_limit="4g",
        cpu_quota=400000,
        timeout=300,
    )
    assert t.to_definition(builtins) == {
        "name": "custom-ml",
        "base": "default",
        "description": "Custom ML environment",
        "packages": {"apt": ["python3-tensorflow", "python3-keras", "python3-pil"]},
        "memory_limit": "4g",
        "cpu_limit": 4.0,
        "timeout": 300,
    }


# -- configuration and requests -------------------------------------------------------------


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("EXECUTOR_API_KEY", "sk-secret")
    monkeypatch.delenv("EXECUTOR_TENANT", raising=False)
    c = Client()
    assert (c.url, c.api_key, c.tenant) == ("http://127.0.0.1:9", "sk-secret", None)
    assert "sk-secret" not in repr(c)
    monkeypatch.setenv("EXECUTOR_TENANT", "acme")
    assert Client().tenant == "acme"
    assert Client(tenant="other", api_key="").tenant == "other"
    monkeypatch.delenv("EXECUTOR_API_KEY")
    monkeypatch.delenv("EXECUTOR_TENANT")
    assert Client().tenant == "default"
    for bad in ["ftp://x", "localhost:8080", "http://"]:
        with pytest.raises(ExecutorError):
            Client(url=bad)
    monkeypatch.setenv("EXECUTOR_REQUEST_TIMEOUT", "soon")
    with pytest.raises(ExecutorError):
        Client()


def test_the_package_version_is_the_one_pyproject_declares() -> None:
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert f'version = "{__version__}"' in pyproject


def test_files_are_encoded_text_as_is_and_bytes_as_base64() -> None:
    files: Dict[str, Union[str, bytes]] = {"a.txt": "hi", "b.bin": b"\x00\xff"}
    assert encode_files(files) == [
        {"path": "a.txt", "content": "hi"},
        {"path": "b.bin", "content": "AP8=", "encoding": "base64"},
    ]
    assert encode_files([("c.txt", "x")]) == [{"path": "c.txt", "content": "x"}]
    for bad in [[{"content": "no path"}], {"a": 5}, ["just a string"]]:
        with pytest.raises(ExecutorError):
            encode_files(bad)  # type: ignore[arg-type]


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Answers as the path says: stall, flood, send garbage, or a stream that never finishes."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/stall":
            time.sleep(3)
            return
        self.send_response(200)
        if self.path == "/flood":
            self.send_header("content-type", "application/json")
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
            return
        self.send_header("content-type", "application/x-ndjson")
        self.end_headers()
        if self.path in ("/trickle", "/keepalives"):
            beat = b"{}\n" if self.path == "/trickle" else b'{"type":"keepalive"}\n'
            try:
                for _ in range(50):
                    self.wfile.write(beat)
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif self.path == "/garbage":
            self.wfile.write(b'{"type":"stdout","text":"hi"}\n\x00\xffnot json\n')
        elif self.path == "/deep":
            self.wfile.write(b"[" * 200000 + b"]" * 200000 + b"\n")
        else:  # a stream that ends without its result
            self.wfile.write(b'{"type":"stdout","text":"hi"}\n')


@pytest.fixture(scope="module")
def hostile() -> Iterator[Tuple[str, int]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield str(host), int(port)
    server.shutdown()
    server.server_close()


def test_a_stalled_server_is_a_request_timeout(hostile: Tuple[str, int]) -> None:
    c = Client(url=f"http://{hostile[0]}:{hostile[1]}", request_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ExecutorError) as e:
        c.json("POST", "/stall", {})
    assert e.value.code == "REQUEST_TIMEOUT" and time.monotonic() - started < 2.5


def test_a_server_that_trickles_or_only_keeps_alive_cannot_hold_a_call(hostile: Tuple[str, int]) -> None:
    api = Api(Client(url=f"http://{hostile[0]}:{hostile[1]}", request_timeout=0.5))
    for call in (
        lambda: api.client.json("POST", "/trickle", {}),
        lambda: api.run("/keepalives", {"code": "x"}, RunArgs("x", timeout=1, on_stdout=print)),
    ):
        started = time.monotonic()
        with pytest.raises(ExecutorError) as e:
            call()
        assert e.value.code == "REQUEST_TIMEOUT" and time.monotonic() - started < 3


def test_a_reply_over_the_limit_is_refused(hostile: Tuple[str, int]) -> None:
    c = Client(url=f"http://{hostile[0]}:{hostile[1]}", max_response_bytes=1024 * 1024)
    with pytest.raises(ExecutorError) as e:
        c.json("POST", "/flood", {})
    assert e.value.code == "RESPONSE_TOO_LARGE"


def test_a_broken_stream_is_a_coded_error(hostile: Tuple[str, int]) -> None:
    api = Api(Client(url=f"http://{hostile[0]}:{hostile[1]}"))
    seen: List[str] = []
    with pytest.raises(ExecutorError) as e:
        api.run("/garbage", {"code": "x"}, RunArgs("x", timeout=1, on_stdout=seen.append))
    assert e.value.code == "BAD_RESPONSE" and seen == ["hi"]
    with pytest.raises(ExecutorError) as e:
        api.run("/ends-early", {"code": "x"}, RunArgs("x", timeout=1, on_stdout=seen.append))
    assert e.value.code == "STREAM_ENDED"
    for deep in (lambda: api.run("/deep", {"code": "x"}, RunArgs("x", timeout=1, on_stdout=seen.append)), lambda: api.client.json("POST", "/deep")):
        with pytest.raises(ExecutorError) as e:
            deep()
        assert e.value.code == "BAD_RESPONSE"  # nesting too deep for the parser: an error, not a crash


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(ExecutorError) as e:
            Client(url=f"http://127.0.0.1:{port}").json("GET", "/health")
    assert e.value.code == "CONNECTION_FAILED" and e.value.status is None

"""``srpc describe``, ``srpc call`` and ``srpc ping`` as users run them: the installed program
in a subprocess, against servers in their own processes."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from .helpers import SRPC, ServiceProcess, srpc


@pytest.fixture(scope="module")
def calc() -> Iterator[ServiceProcess]:
    with ServiceProcess("calc") as server:
        yield server


@pytest.fixture(scope="module")
def kitchen() -> Iterator[ServiceProcess]:
    with ServiceProcess("kitchen") as server:
        yield server


@pytest.fixture(scope="module")
def streams() -> Iterator[ServiceProcess]:
    with ServiceProcess("streamsvc") as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- describe ------------------------------------------------------------------------------


def test_describe_prints_signatures_and_docstrings(calc: ServiceProcess) -> None:
    result = srpc("describe", calc.target)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"service calc at 127.0.0.1:{calc.port}\nfingerprint ")
    assert "A calculator served over srpc." in out
    assert "add(a: int, b: int) -> int\n    Return a + b." in out
    assert "div(a: int, b: int) -> float\n    Return a / b; raises ZeroDivisionError" in out


def test_describe_json_has_a_schema_per_parameter_and_result(calc: ServiceProcess) -> None:
    result = srpc("describe", f"127.0.0.1:{calc.port}", "--json")
    assert result.returncode == 0, result.stderr
    description = json.loads(result.stdout)
    assert description["service"] == "calc"
    assert len(description["fingerprint"]) == 64
    add = description["procedures"][0]
    assert add["name"] == "add" and add["kind"] == "unary"
    assert add["signature"] == "add(a: int, b: int) -> int"
    assert [(p["name"], p["schema"]) for p in add["parameters"]] == [
        ("a", {"type": "integer"}),
        ("b", {"type": "integer"}),
    ]
    assert description["procedures"][3]["result"]["schema"] == {"type": "number"}


def test_describe_names_the_stream_kinds(streams: ServiceProcess) -> None:
    result = srpc("describe", streams.target, "--json")
    kinds = {p["name"]: p["kind"] for p in json.loads(result.stdout)["procedures"]}
    assert kinds["count"] == "server_stream"
    assert kinds["total"] == "client_stream"
    assert kinds["echo"] == "bidirectional"
    assert kinds["deadline"] == "unary"
    text = srpc("describe", streams.target).stdout
    assert "count(n: int, delay: float = 0.0) -> Iterator[int]    [streams its result]" in text


# -- call ----------------------------------------------------------------------------------


def test_call_with_positional_and_keyword_arguments(calc: ServiceProcess) -> None:
    result = srpc("call", calc.target, "add", "1", "2")
    assert (result.returncode, result.stdout) == (0, "3\n"), result.stderr
    result = srpc("call", calc.target, "sub", "b=2", "a=10")
    assert (result.returncode, result.stdout) == (0, "8\n"), result.stderr
    result = srpc("call", calc.target, "add", "1", "-5")  # a negative number is no option
    assert (result.returncode, result.stdout) == (0, "-4\n"), result.stderr


def test_a_wrong_type_gets_the_servers_invalid_arguments(calc: ServiceProcess) -> None:
    result = srpc("call", calc.target, "add", "1", '"two"')
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "srpc.errors.InvalidArguments: calc.add(): argument 'b': Expected `int`, got `str` - at `b`"
    )


def test_a_remote_error_prints_its_type_and_message(calc: ServiceProcess) -> None:
    result = srpc("call", calc.target, "div", "1", "0")
    assert result.returncode == 1
    assert result.stderr.strip() == "ZeroDivisionError: division by zero"


def test_an_argument_that_is_not_json_is_a_usage_error(calc: ServiceProcess) -> None:
    result = srpc("call", calc.target, "add", "1", "two")
    assert result.returncode == 2
    assert "argument 2 is not a JSON value" in result.stderr
    assert "a string needs its quotes" in result.stderr


def test_an_unknown_procedure_is_named_with_the_known_ones(calc: ServiceProcess) -> None:
    result = srpc("call", calc.target, "pow", "2", "3")
    assert result.returncode == 1
    assert "calc has no procedure 'pow' (it has: add, sub, mult, div)" in result.stderr


def test_results_that_are_not_json_native(kitchen: ServiceProcess) -> None:
    def call(proc: str, *args: str) -> object:
        result = srpc("call", kitchen.target, proc, *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert call("echo_bytes", '"aGVsbG8="') == "aGVsbG8="  # bytes: base64 both ways
    assert call("echo_set", "[3, 1, 2]") == [1, 2, 3]
    assert call("echo_datetime", '"2020-01-02T03:04:05+00:00"') == "2020-01-02T03:04:05+00:00"
    record = {"name": "n", "tags": ["t"], "when": None}
    assert call("echo_dataclass", json.dumps(record)) == record
    assert call("params", "1", '"b"', "2.5", "c=true", 'e="x"') == {
        "a": 1, "b": "b", "args": [2.5], "c": True, "d": 4, "kwargs": {"e": "x"}
    }  # fmt: skip


def test_a_streamed_result_prints_one_line_per_item_as_they_arrive(
    streams: ServiceProcess,
) -> None:
    proc = subprocess.Popen(
        [str(SRPC), "call", streams.target, "count", "3", "0.4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    arrivals = []
    for line in proc.stdout:
        arrivals.append((time.monotonic(), line))
    assert proc.wait(30) == 0
    assert [line for _, line in arrivals] == ["0\n", "1\n", "2\n"]
    # each line came as its item was made, not all at the end
    assert arrivals[2][0] - arrivals[0][0] > 0.5


def test_streamed_arguments_and_a_bidirectional_stream(streams: ServiceProcess) -> None:
    result = srpc("call", streams.target, "total", "[1, 2, 3]")
    assert (result.returncode, result.stdout) == (0, "6\n"), result.stderr
    result = srpc("call", streams.target, "atotal", "values=[4, 5]")
    assert (result.returncode, result.stdout) == (0, "9\n"), result.stderr
    result = srpc("call", streams.target, "echo", '["a", "b"]')
    assert (result.returncode, result.stdout) == (0, '"A"\n"B"\n'), result.stderr
    many = json.dumps(list(range(1000)))  # past one window of credit
    result = srpc("call", streams.target, "total", many)
    assert (result.returncode, result.stdout) == (0, f"{sum(range(1000))}\n"), result.stderr


def test_a_stream_that_fails_prints_its_items_then_the_error(streams: ServiceProcess) -> None:
    result = srpc("call", streams.target, "fail_after", "2")
    assert result.returncode == 1
    assert result.stdout == "0\n1\n"
    assert result.stderr.strip() == "ValueError: failed after 2"
    result = srpc("call", streams.target, "total", '[1, "x"]')
    assert result.returncode == 1
    assert "InvalidArguments: streamsvc.total(): argument 'values[item]'" in result.stderr


def test_call_timeout(streams: ServiceProcess) -> None:
    result = srpc("call", "--timeout", "0.5", streams.target, "forever", '"cli"')
    assert result.returncode == 1
    assert "streamsvc.forever() timed out after 0.5 s" in result.stderr


# -- ping ----------------------------------------------------------------------------------


def test_ping_up(calc: ServiceProcess) -> None:
    result = srpc("ping", calc.target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"calc at 127.0.0.1:{calc.port} answered: ping ")
    assert " ms " in result.stdout


def test_ping_down() -> None:
    result = srpc("ping", f"127.0.0.1:{free_port()}", "--timeout", "2")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "cannot connect to 127.0.0.1:" in result.stderr


def test_ping_a_server_that_stopped() -> None:
    with ServiceProcess("calc") as server:
        assert srpc("ping", server.target).returncode == 0
    assert srpc("ping", server.target, "--timeout", "2").returncode == 1


def test_ping_a_silent_server_times_out() -> None:
    with socket.socket() as listener:  # accepts, never answers the Hello
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = srpc("ping", f"127.0.0.1:{port}", "--timeout", "0.5")
    assert result.returncode == 1
    assert "no handshake answer in time" in result.stderr
    assert time.monotonic() - started < 20


# -- token, reflection off, targets ---------------------------------------------------------


def test_a_token_protected_server() -> None:
    with ServiceProcess("calc", "--token", "s3cret") as server:
        refused = srpc("ping", server.target)
        assert refused.returncode == 1
        assert "missing or wrong token" in refused.stderr
        assert srpc("call", server.target, "add", "1", "2", "--token", "wrong").returncode == 1
        result = srpc("call", server.target, "add", "1", "2", "--token", "s3cret")
        assert (result.returncode, result.stdout) == (0, "3\n"), result.stderr
        assert srpc("ping", "--token", "s3cret", server.target).returncode == 0


def test_reflection_off() -> None:
    with ServiceProcess("calc", "--no-reflection") as server:
        result = srpc("describe", server.target)
        assert result.returncode == 1
        assert result.stderr.strip() == "error: reflection is turned off on this server"
        # calls still work, without the description's help
        result = srpc("call", server.target, "add", "1", "2")
        assert (result.returncode, result.stdout) == (0, "3\n"), result.stderr
        assert srpc("ping", server.target).returncode == 0


@pytest.mark.parametrize(
    ("target", "status", "text"),
    [
        ("nats://127.0.0.1:1/calc", 1, "cannot connect to the NATS server at nats://127.0.0.1:1"),
        ("http://127.0.0.1:1", 2, "unsupported srpc URL scheme"),
        ("127.0.0.1:99999", 2, "out of range"),
    ],
)
def test_targets(target: str, status: int, text: str) -> None:
    result = srpc("ping", target)
    assert result.returncode == status
    assert text in result.stderr


def test_a_streamed_argument_from_stdin_goes_as_it_is_read(streams: ServiceProcess) -> None:
    proc = subprocess.Popen(
        [str(SRPC), "call", streams.target, "echo", "--stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    for word in ("ab", "cd"):  # each answer comes back before the next line is written
        proc.stdin.write(f'"{word}"\n')
        proc.stdin.flush()
        assert proc.stdout.readline() == f'"{word.upper()}"\n'
    proc.stdin.close()
    assert proc.wait(30) == 0
    assert proc.stdout.read() == ""
    result = subprocess.run(
        [str(SRPC), "call", streams.target, "total", "--stdin"],
        input="1\n\n2\n3\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "6\n"), result.stderr
    result = subprocess.run(
        [str(SRPC), "call", streams.target, "total", "--stdin"],
        input="1\nnope\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "stdin line 2 is not a JSON value" in result.stderr
    result = srpc("call", streams.target, "count", "2", "--stdin")
    assert result.returncode == 2
    assert "count() has no streamed argument to read from stdin" in result.stderr

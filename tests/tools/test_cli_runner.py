"""The commands in process (typer's CliRunner) against servers on 127.0.0.1, port 0, in the
background; their help; the JSON Schemas of a description."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from srpc.cli import SHORT_HELP, app
from tests.runtime.stubs import (
    SrpcCalcServerStub,
    SrpcKitchenServerStub,
)  # puts kitchen on the path

from tests.runtime.streams_stubs import SrpcStreamsvcServerStub  # isort: skip

runner = CliRunner()


@pytest.fixture(scope="module")
def calc() -> Iterator[str]:
    with SrpcCalcServerStub("127.0.0.1", 0, metrics_log=None) as server:
        yield f"127.0.0.1:{server.address[1]}"


@pytest.fixture(scope="module")
def kitchen() -> Iterator[str]:
    with SrpcKitchenServerStub("127.0.0.1", 0, metrics_log=None) as server:
        yield f"tcp://127.0.0.1:{server.address[1]}"


@pytest.fixture(scope="module")
def streams() -> Iterator[str]:
    with SrpcStreamsvcServerStub("127.0.0.1", 0, metrics_log=None) as server:
        yield f"127.0.0.1:{server.address[1]}"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_describe_text(calc: str) -> None:
    result = run("describe", calc)
    assert result.exit_code == 0, result.output
    assert "sub(a: int, b: int) -> int\n    Return a - b.\n" in result.stdout


def test_describe_json_schemas_are_valid(kitchen: str) -> None:
    result = run("describe", kitchen, "--json")
    assert result.exit_code == 0, result.output
    description = json.loads(result.stdout)
    procedures = {p["name"]: p for p in description["procedures"]}
    assert len(procedures) == 47
    jsonschema = pytest.importorskip("jsonschema")
    for procedure in procedures.values():
        for entry in [*procedure["parameters"], procedure["result"]]:
            jsonschema.Draft202012Validator.check_schema(entry["schema"])
    record = procedures["echo_dataclass"]["parameters"][0]["schema"]
    validator = jsonschema.Draft202012Validator(record)
    assert validator.is_valid({"name": "n", "tags": ["a"]})
    assert not validator.is_valid({"name": 1, "tags": ["a"]})
    assert procedures["echo_bytes"]["result"]["schema"] == {
        "type": "string",
        "contentEncoding": "base64",
    }


def test_describe_parameter_kinds(kitchen: str) -> None:
    description = json.loads(run("describe", kitchen, "--json").stdout)
    params = next(p for p in description["procedures"] if p["name"] == "params")
    assert params["signature"] == (
        "params(a: int, /, b: str, *args: float, c: bool, d: int = 4, **kwargs: str)"
        " -> dict[str, Any]"
    )
    assert [(p["name"], p["kind"], p["required"]) for p in params["parameters"]] == [
        ("a", "positional_only", True),
        ("b", "positional_or_keyword", True),
        ("args", "var_positional", False),
        ("c", "keyword_only", True),
        ("d", "keyword_only", False),
        ("kwargs", "var_keyword", False),
    ]
    assert params["parameters"][2]["schema"] == {"type": "number"}


def test_call_positional_keyword_and_errors(calc: str) -> None:
    result = run("call", calc, "mult", "6", "b=7")
    assert (result.exit_code, result.stdout) == (0, "42\n"), result.output
    result = run("call", calc, "mult", "6", "[7]")
    assert result.exit_code == 1
    assert "InvalidArguments: calc.mult(): argument 'b': Expected `int`, got `array`" in (
        result.stderr
    )
    result = run("call", calc, "div", "1", "0")
    assert (result.exit_code, result.stderr.strip()) == (1, "ZeroDivisionError: division by zero")
    result = run("call", calc, "add", "a=1", "2")
    assert result.exit_code == 2
    assert "positional but follows a keyword argument" in result.stderr


def test_call_values_without_a_json_type(kitchen: str) -> None:
    def value(proc: str, *args: str) -> Any:
        result = run("call", kitchen, proc, *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert value("echo_bytearray", '"AAEC"') == "AAEC"
    assert value("echo_uuid", '"12345678-1234-5678-1234-567812345678"') == (
        "12345678-1234-5678-1234-567812345678"
    )
    assert value("echo_decimal", '"3.14"') == "3.14"
    assert value("echo_tuple", '[1, "a"]') == [1, "a"]
    assert value("echo_enum", '"red"') == "red"
    assert value("echo_none", "null") is None
    assert run("call", kitchen, "echo_float", "1e400").exit_code == 2  # out of JSON's range
    result = run("call", kitchen, "echo_bytes", '"not base64!"')
    assert result.exit_code == 2
    assert "bytes are given as base64" in result.stderr


def test_call_a_remote_error_with_the_traceback(kitchen: str) -> None:
    result = run("call", kitchen, "raise_error", '"key"', "--traceback")
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith("KeyError: 'missing'")


def test_call_streams(streams: str) -> None:
    result = run("call", streams, "tail", "3")
    assert (result.exit_code, result.stdout) == (0, "0\n1\n2\n"), result.output
    result = run("call", streams, "echo", "values=[]")
    assert (result.exit_code, result.stdout) == (0, ""), result.output
    result = run("call", streams, "total", "5")
    assert result.exit_code == 2
    assert "the streamed argument 'values' is a JSON array of its items" in result.stderr
    result = run("call", streams, "total")
    assert result.exit_code == 2


def test_ping(calc: str) -> None:
    result = run("ping", calc)
    assert result.exit_code == 0, result.output
    assert re.match(r"calc at 127\.0\.0\.1:\d+ answered: ping [\d.]+ ms", result.stdout)


def test_reflection_off() -> None:
    with SrpcCalcServerStub("127.0.0.1", 0, metrics_log=None, reflection=False) as server:
        target = f"127.0.0.1:{server.address[1]}"
        result = run("describe", target, "--json")
        assert result.exit_code == 1
        assert "reflection is turned off on this server" in result.stderr
        assert run("call", target, "add", "2", "2").stdout == "4\n"


@pytest.mark.parametrize("command", ["describe", "call", "ping"])
def test_help_has_an_example_and_whole_option_texts(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.stdout
    assert "Example:" in text and f"srpc {command} " in text.split("Example:")[1]
    body = " ".join(text.split())
    click_command: Any = get_command(app).commands[command]  # type: ignore[attr-defined]
    for param in click_command.params:
        if getattr(param, "help", None):
            assert " ".join(param.help.split()) in body, param.name
    for flag, value in re.findall(r"(?:^|\s)(--[a-z-]+|[A-Z][A-Z_]+) (\S+)", text, re.M):
        if value.startswith("<") or value.isupper():
            assert re.fullmatch(r"<[a-z]+>", value), (flag, value)
    assert SHORT_HELP[command] in " ".join(run("--help").stdout.split())


def test_to_json_converts_what_json_has_no_type_for() -> None:
    import datetime

    import msgspec

    from srpc.dynamic import dumps, to_json

    when = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert to_json({1: b"hi", (1, 2): {3}, None: when, "f": [float("nan"), float("-inf")]}) == {
        "1": "aGk=",
        "[1,2]": [3],
        "null": "2020-01-02T03:04:05+00:00",
        "f": ["NaN", "-Infinity"],
    }
    assert to_json(msgspec.msgpack.Ext(5, b"\x01")) == {"ext": 5, "data": "AQ=="}
    assert dumps({"a": [1]}, indent=2) == '{\n  "a": [\n    1\n  ]\n}'


def test_tls(tmp_path: Path) -> None:
    from srpc.security import server_ssl_context
    from tests.hardening.certs import OPENSSL, make_test_pki

    if OPENSSL is None:
        pytest.skip("the openssl CLI is not installed; the TLS test needs it to make a test CA")
    pki = make_test_pki(tmp_path)
    context = server_ssl_context(pki.server_cert, pki.server_key)
    with SrpcCalcServerStub("127.0.0.1", 0, metrics_log=None, ssl=context) as server:
        target = f"127.0.0.1:{server.address[1]}"
        result = run("ping", target, "--cafile", str(pki.ca_cert))
        assert result.exit_code == 0, result.output
        result = run("call", target, "add", "1", "2", "--cafile", str(pki.ca_cert))
        assert (result.exit_code, result.stdout) == (0, "3\n"), result.output
        unverified = run("ping", target, "--tls", "--timeout", "2")
        assert unverified.exit_code == 1
        assert "CERTIFICATE_VERIFY_FAILED" in unverified.stderr
        assert run("ping", target, "--timeout", "2").exit_code == 1  # plain TCP to a TLS port
    missing = run("ping", "127.0.0.1:1", "--cafile", str(tmp_path / "nope.pem"))
    assert missing.exit_code == 1
    assert "cannot use --cafile" in missing.stderr

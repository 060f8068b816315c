"""Addresses from arguments and SRPC_HOST / SRPC_PORT; a bad one is a one-line srpc error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from srpc._address import InvalidAddress, resolve_address
from srpc.errors import SrpcError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRPC_HOST", raising=False)
    monkeypatch.delenv("SRPC_PORT", raising=False)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, ("127.0.0.1", 5000)),
        ("10.0.0.5", 7000, ("10.0.0.5", 7000)),
        ("tcp://10.0.0.5:7000", None, ("10.0.0.5", 7000)),
        ("tcp://10.0.0.5", 7001, ("10.0.0.5", 7001)),
        ("10.0.0.5:7002", None, ("10.0.0.5", 7002)),
        ("[::1]:7003", None, ("::1", 7003)),
        ("[::1]", 7004, ("::1", 7004)),
        ("::1", 7005, ("::1", 7005)),
        ("tcp://[::1]:7006", None, ("::1", 7006)),
        ("", 0, ("", 0)),
        ("0.0.0.0", 0, ("0.0.0.0", 0)),
    ],
)
def test_good_addresses(host: str | None, port: int | None, expected: tuple[str, int]) -> None:
    assert resolve_address(host, port) == expected


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPC_HOST", "tcp://10.1.1.1:6000")
    assert resolve_address(None, None) == ("10.1.1.1", 6000)
    monkeypatch.setenv("SRPC_HOST", "10.1.1.2")
    monkeypatch.setenv("SRPC_PORT", " 6001 ")
    assert resolve_address(None, None) == ("10.1.1.2", 6001)
    assert resolve_address("h", 7) == ("h", 7)  # arguments win


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SRPC_PORT": "abc"}, "SRPC_PORT must be a port number 0-65535, not 'abc'"),
        ({"SRPC_PORT": "-1"}, "SRPC_PORT must be a port number 0-65535, not '-1'"),
        ({"SRPC_PORT": "70000"}, "SRPC_PORT=70000 is out of range 0-65535"),
        ({"SRPC_PORT": "5000.0"}, "SRPC_PORT must be a port number"),
        ({"SRPC_PORT": "٣"}, "SRPC_PORT must be a port number"),  # a non-ASCII digit
        ({"SRPC_HOST": "http://x:1"}, "unsupported srpc URL scheme 'http'"),
        ({"SRPC_HOST": "tcp://x:99999"}, "SRPC_HOST 'tcp://x:99999' is not a valid"),
        ({"SRPC_HOST": "tcp://x:abc"}, "is not a valid tcp://host:port URL"),
        ({"SRPC_HOST": "tcp://x:1/path"}, "a tcp:// URL is just tcp://host:port"),
        ({"SRPC_HOST": "x:abc"}, "the port in SRPC_HOST must be a port number"),
        ({"SRPC_HOST": "my host"}, "SRPC_HOST 'my host' is not a host name or address"),
        ({"SRPC_HOST": "[::1]x"}, "is not host, host:port or [v6]:port"),
    ],
)
def test_bad_environment_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InvalidAddress) as info:
        resolve_address(None, None)
    text = str(info.value)
    assert message in text and "\n" not in text
    assert isinstance(info.value, SrpcError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        ("h", 70000, "port 70000 is out of range 0-65535"),
        ("h", "5000", "port must be an int, not '5000'"),
        ("h", True, "port must be an int"),
        ("tcp://h:0", None, None),
    ],
)
def test_bad_arguments(host: str, port: object, message: str | None) -> None:
    if message is None:
        assert resolve_address(host, port) == ("h", 0)  # type: ignore[arg-type]
        return
    with pytest.raises(InvalidAddress, match=message):
        resolve_address(host, port)  # type: ignore[arg-type]


def test_a_client_stub_with_a_bad_port_fails_with_one_line() -> None:
    """Through the generated stub, in a real process: the error's type and message."""
    probe = (
        "import sys\n"
        "sys.path.insert(0, 'examples/calc/client')\n"
        "from srpc_calc_client_stub import SrpcCalcClientStub\n"
        "try:\n"
        "    SrpcCalcClientStub()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc, sep=': ')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "SRPC_PORT": "50OO"}
    env.pop("SRPC_HOST", None)
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == (
        "InvalidAddress: SRPC_PORT must be a port number 0-65535, not '50OO'"
    ), out.stderr

"""The tools and callbacks: describe shows a callback's methods, srpc call refuses to pass
one, and a stubless client that is called back tells the server it cannot run callbacks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from srpc.cli import app
from srpc.dynamic import DynamicClient, RemoteCallFailed
from tests.runtime.callbacks_stubs import SrpcCbsvcClientStub, SrpcCbsvcServerStub

runner = CliRunner()


@pytest.fixture(scope="module")
def cbsvc() -> Iterator[str]:
    with SrpcCbsvcServerStub("127.0.0.1", 0, metrics_log=None) as server:
        yield f"127.0.0.1:{server.address[1]}"


def test_describe_shows_a_callback_and_its_methods(cbsvc: str) -> None:
    result = runner.invoke(app, ["describe", cbsvc, "--json"])
    assert result.exit_code == 0, result.output
    procedures = {p["name"]: p for p in json.loads(result.stdout)["procedures"]}
    progress = procedures["run"]["parameters"][1]
    assert progress["callback"]["interface"] == "Progress"
    methods = {m["name"]: m for m in progress["callback"]["methods"]}
    assert [p["name"] for p in methods["update"]["parameters"]] == ["done", "total"]
    assert methods["should_stop"]["result"]["schema"] == {"type": "boolean"}
    fn = procedures["amap"]["parameters"][1]["callback"]
    assert fn["interface"] is None and fn["methods"][0]["async"] is True
    assert "callback" not in procedures["run"]["parameters"][0]
    text = runner.invoke(app, ["describe", cbsvc])
    assert "run(steps: int, progress: Progress) -> int" in text.stdout


def test_srpc_call_refuses_a_procedure_that_takes_a_callback(cbsvc: str) -> None:
    result = runner.invoke(app, ["call", cbsvc, "each", "[1, 2]", "0"])
    assert result.exit_code == 2
    assert "takes a callback ('fn')" in result.output
    assert "generated client stub" in result.output
    assert runner.invoke(app, ["call", cbsvc, "add", "2", "3"]).stdout.strip() == "5"


def test_a_stubless_caller_called_back_answers_that_it_cannot(cbsvc: str) -> None:
    client = DynamicClient(cbsvc, timeout=30)
    try:
        with pytest.raises(RemoteCallFailed, match="cannot run callbacks"):
            client.call("guarded", [0], {})
        assert client.call("add", [1, 2], {}) == 3
    finally:
        client.close()
    with SrpcCbsvcClientStub(cbsvc, timeout=30) as stub:
        assert stub.errors()[-1] == "InvalidArguments"

"""The dashboard shows a streaming service: stream calls, their items, the streams open now."""

from __future__ import annotations

import json
import time
from pathlib import Path

import runtime.stubs  # noqa: F401 - puts the runtime tests' service packages on sys.path
from runtime.streams_stubs import SrpcStreamsvcClientStub, SrpcStreamsvcServerStub
from typer.testing import CliRunner

from .test_command import _app


def _snapshot(log: Path) -> dict[str, object]:
    app, prefix = _app()
    result = CliRunner().invoke(app, [*prefix, str(log), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def _wait_for(log: Path, key: str, value: int) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while True:
        snap = _snapshot(log)
        if snap[key] == value or time.monotonic() > deadline:
            return snap
        time.sleep(0.1)


def test_stream_calls_items_and_open_streams(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    with (
        SrpcStreamsvcServerStub(port=0, metrics_log=log) as server,
        SrpcStreamsvcClientStub(*server.address) as client,
    ):
        assert list(client.count(6)) == list(range(6))
        assert client.total(range(4)) == 6
        open_stream = client.forever("shown")
        assert next(open_stream) == 0
        snap = _wait_for(log, "streams_open", 1)
        assert snap["streams_open"] == 1
        open_stream.close()
        snap = _wait_for(log, "streams_open", 0)
        assert snap["streams_open"] == 0
        snap = _wait_for(log, "stream_calls", 3)
    procs = {p["name"]: p for p in snap["procs"]}  # type: ignore[attr-defined]
    assert snap["stream_calls"] == 3
    assert (procs["count"]["streams"], procs["count"]["items_out"]) == (1, 6)
    assert (procs["total"]["streams"], procs["total"]["items_in"]) == (1, 4)
    app, prefix = _app()
    result = CliRunner().invoke(app, [*prefix, str(log), "--once"])
    assert "streams: 3 calls, 0 open now" in result.output
    assert "items in/out" in result.output

"""The stub's own API: self-typed views, checked timeouts, and `srpc.close`/`srpc.with_timeout`."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import srpc

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "examples" / "calc" / "server"


def _mypy(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "use_stub.py"
    path.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        cwd=SERVER,
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(SERVER), "PATH": "/usr/bin:/bin"},
    )


def test_views_and_context_managers_keep_the_stub_type(tmp_path: Path) -> None:
    result = _mypy(
        """
        import srpc
        from srpc_calc_client_stub import SrpcCalcAsyncClientStub, SrpcCalcClientStub

        calc = SrpcCalcClientStub("127.0.0.1")
        calc.with_timeout(2).add("x", 2)
        srpc.with_timeout(calc, 2).add("x", 2)
        with calc as same:
            same.add("x", 2)

        async def main() -> None:
            async with SrpcCalcAsyncClientStub() as acalc:
                await acalc.with_timeout(1).add("x", 2)
        """,
        tmp_path,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 4, result.stdout + result.stderr
    assert all("incompatible type" in line for line in errors), result.stdout


@pytest.mark.parametrize("bad", [-1, 0, math.nan, -math.inf])
def test_a_timeout_that_can_never_be_met_is_refused(bad: float) -> None:
    from tests.runtime.stubs import SrpcCalcAsyncClientStub, SrpcCalcClientStub

    with pytest.raises(ValueError, match="positive number of seconds"):
        SrpcCalcClientStub("127.0.0.1", 1, timeout=bad)
    stub = SrpcCalcClientStub("127.0.0.1", 1)
    with pytest.raises(ValueError, match="positive number of seconds"):
        stub.with_timeout(bad)
    with pytest.raises(ValueError, match="positive number of seconds"):
        srpc.with_timeout(SrpcCalcAsyncClientStub("127.0.0.1", 1), bad)
    with pytest.raises(TypeError, match="number of seconds"):
        stub.with_timeout("2")  # type: ignore[arg-type]


def test_srpc_close_and_with_timeout_reach_the_stub_itself() -> None:
    from tests.runtime.stubs import SrpcCalcClientStub, SrpcCalcServerStub

    with SrpcCalcServerStub(port=0, metrics_log=None) as server:
        stub = SrpcCalcClientStub(*server.address)
        view = srpc.with_timeout(stub, 5)
        assert view.add(1, 2) == 3
        assert view._srpc_timeout == 5.0 and stub._srpc_timeout is None
        srpc.close(stub)
        assert stub._srpc_shared.connection is None
        assert stub.add(2, 2) == 4  # the next call reconnects
        srpc.close(stub)

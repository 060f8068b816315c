"""Writing realistic metrics-log lines for the dashboard tests."""

from __future__ import annotations

import json
from pathlib import Path


def call_line(
    proc: str,
    *,
    ts: float = 1_763_900_000.0,
    ok: bool = True,
    latency_ms: float = 0.05,
    error: str | None = None,
    service: str = "calc",
) -> str:
    return json.dumps(
        {
            "ts": ts,
            "service": service,
            "proc": proc,
            "ok": ok,
            "latency_ms": latency_ms,
            "error": error,
            "peer": "127.0.0.1:50312",
            "req_bytes": 21,
            "resp_bytes": 12,
        }
    )


def event_line(event: str, *, ts: float = 1_763_900_000.0, service: str = "calc") -> str:
    return json.dumps({"ts": ts, "service": service, "event": event, "pid": 1})


def append(path: Path, *lines: str) -> None:
    with path.open("a") as f:
        f.write("".join(line + "\n" for line in lines))


def metrics_command() -> list[str]:
    """argv of the ``srpc-metrics`` command; a stand-in until ``srpc.cli`` imports."""
    import shutil
    import sys

    try:
        import srpc.cli  # noqa: F401
    except ImportError:  # pragma: no cover - srpc.compiler.command still being written
        script = (
            "import typer; from srpc.dashboard.command import metrics; "
            "app = typer.Typer(add_completion=False); app.command()(metrics); "
            "app(prog_name='srpc-metrics')"
        )
        return [sys.executable, "-c", script]
    exe = shutil.which("srpc-metrics", path=str(Path(sys.executable).parent))
    assert exe is not None, "srpc-metrics is not installed beside the interpreter"
    return [exe]
